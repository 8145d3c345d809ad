"""What every JSON API route needs: the bearer-token caller, problem+json errors, and the
services' context on the console's connections.

Errors follow RFC 9457 (``application/problem+json``): ``type`` is the rule id (the contract
a program reads), ``title`` and ``detail`` are for people, in the token user's language;
validation errors add ``field`` (the first) and ``errors`` (every field with its message).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.parties import Actor
from domain.text import error_text
from infra import i18n
from infra.i18n import N_
from starter.console.lang import accept_language, user_language
from starter.console.web import Console
from starter.services.context import AppContext
from starter.services.errors import BadInputError, CliError, RefusedError
from starter.services.tasks import ClaimError, NotInScopeError
from starter.services.tokens import TokenError, TokenInfo, authenticate

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
REALM = "partnerflow"

TITLES = {
    400: N_("Bad request"),
    401: N_("Authentication required"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    409: N_("Refused"),
    413: N_("File too large"),
    415: N_("Unsupported file type"),
    422: N_("Invalid input"),
    500: N_("Internal error"),
    503: N_("Service unavailable"),
}


class FieldProblem(BaseModel):
    """One field of the request and what is wrong with it."""

    field: str
    detail: str


class Problem(BaseModel):
    """An RFC 9457 problem document; ``type`` is the rule id."""

    type: str = Field(description="The rule id, e.g. `already_decided`, `token_invalid`.")
    title: str
    status: int
    detail: str
    field: str | None = Field(None, description="The first invalid field (validation errors).")
    errors: list[FieldProblem] = Field(default_factory=list)
    rules: list[str] = Field(
        default_factory=list, description="Every rule that refused, when several did."
    )


# The error answers every route may give, for the OpenAPI document.
PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": title}
    for status, title in TITLES.items()
    if status in (401, 404, 409, 422, 503)
}


class ApiProblem(Exception):
    """Ends a request with a problem document (``detail`` already in the reader's language)."""

    def __init__(
        self,
        status: int,
        type_: str,
        detail: str,
        *,
        field: str | None = None,
        errors: list[FieldProblem] | None = None,
        rules: list[str] | None = None,
        headers: dict[str, str] | None = None,
        title: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.title = title  # marked with N_; by default the status's title
        self.status = status
        self.type = type_
        self.detail = detail
        self.field = field
        self.errors = errors or []
        self.rules = rules or []
        self.headers = headers or {}


@dataclass(frozen=True)
class Caller:
    """The token holder of a request: the actor, its token, its language and zone."""

    actor: Actor
    token: TokenInfo
    locale: str
    timezone: str | None = None

    def t(self, message: str, **values: Any) -> str:
        """A message marked with ``N_``, in the caller's language."""
        text = i18n.gettext(self.locale, message)
        return text % values if values else text


def console_of(request: Request) -> Console:
    """The running console (the API app's state)."""
    console: Console = request.app.state.console
    return console


def context_of(request: Request) -> AppContext:
    """The services' context of the running console (its database and Temporal client), so
    that the API calls the services exactly as the console and the CLI do."""
    return console_of(request).ctx


def locale_of(request: Request) -> str:
    """The caller's language once the token is known; before, Accept-Language (never a
    cookie: the API reads none)."""
    caller = getattr(request.state, "caller", None)
    if isinstance(caller, Caller):
        return caller.locale
    default = console_of(request).settings.default_locale
    return accept_language(request.headers.get("accept-language")) or default


def _t(locale: str, message: str, **values: Any) -> str:
    text = i18n.gettext(locale, message)
    return text % values if values else text


bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="A personal API token (`partnerflow token create --user U --name N`).",
)


async def current_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """The token's user as the actor; 401 (with ``WWW-Authenticate``) otherwise.

    Only the ``Authorization`` header counts: a console session cookie is ignored here, so a
    page of another site cannot make a signed-in browser call the API (no CSRF on /api).
    """
    locale = locale_of(request)
    if credentials is None:
        raise ApiProblem(
            401,
            "token_missing",
            _t(locale, N_("Send a personal API token: “Authorization: Bearer <token>”.")),
            headers={"WWW-Authenticate": f'Bearer realm="{REALM}"'},
        )
    c = console_of(request)
    try:
        who = await authenticate(c.sessions, credentials.credentials)
    except TokenError as exc:
        log.info("API token refused: %s", exc.rule)
        rule = exc.rule if exc.rule in ("token_expired", "token_revoked") else "token_invalid"
        details = {
            "token_expired": N_("This API token has expired; make a new one."),
            "token_revoked": N_("This API token was revoked; make a new one."),
            "token_invalid": N_("This API token is not valid (unknown, or its user is inactive)."),
        }
        raise ApiProblem(
            401,
            rule,
            _t(locale, details[rule]),
            headers={"WWW-Authenticate": f'Bearer realm="{REALM}", error="invalid_token"'},
        ) from None
    stored, timezone = await user_language(c.sessions, who.actor.user_id)
    caller = Caller(who.actor, who.token, stored or c.settings.default_locale, timezone)
    request.state.caller = caller
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]
ContextDep = Annotated[AppContext, Depends(context_of)]


def problem_response(request: Request, p: ApiProblem) -> JSONResponse:
    """The problem document of ``p`` with its headers."""
    locale = locale_of(request)
    body = Problem(
        type=p.type,
        title=_t(locale, p.title or TITLES.get(p.status, N_("Refused"))),
        status=p.status,
        detail=p.detail,
        field=p.field,
        errors=p.errors,
        rules=p.rules,
    ).model_dump(exclude_none=True)
    for empty in ("errors", "rules"):
        if not body[empty]:
            del body[empty]
    return JSONResponse(body, status_code=p.status, media_type=PROBLEM_JSON, headers=p.headers)


def from_cli_error(exc: CliError, locale: str) -> ApiProblem:
    """A service error as a problem: refused 409, bad input 422, anything else 503."""
    status = (
        409 if isinstance(exc, RefusedError) else 422 if isinstance(exc, BadInputError) else 503
    )
    # Temporal or the worker away: worth another try in a while (RFC 9110 Retry-After).
    retry = {"Retry-After": "30"} if status == 503 or exc.rule == "no_worker" else {}
    return ApiProblem(
        status, exc.rule, i18n.refusal_message(exc.rule, exc.message, locale), headers=retry
    )


def not_found(locale: str) -> ApiProblem:
    """The one answer for a missing object and one outside the caller's scope."""
    return ApiProblem(
        404, "not_found", _t(locale, N_("There is nothing here for you, or nothing at all."))
    )


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str:
    # ("body", "fields", "amount") -> "fields.amount"; the request part is not a field name
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


Handler = Callable[[Request, Any], Coroutine[Any, Any, Response]]


def exception_handlers() -> dict[int | type[Exception], Handler]:
    """Every error of an API route as problem+json."""

    async def on_problem(request: Request, exc: ApiProblem) -> JSONResponse:
        return problem_response(request, exc)

    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        locale = locale_of(request)
        errors = [
            # The door types' marked messages in the caller's language; another validator's
            # message without pydantic's "Value error, " prefix (as on the console's forms).
            FieldProblem(
                field=_field_of(e.get("loc", ())),
                detail=error_text(e, lambda s: i18n.gettext(locale, s)),
            )
            for e in exc.errors()
        ]
        detail = _t(locale, N_("Some fields need attention; nothing was recorded."))
        first = errors[0].field if errors else None
        return problem_response(
            request, ApiProblem(422, "invalid_input", detail, field=first, errors=errors)
        )

    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        locale = locale_of(request)
        if exc.status_code == 404:
            return problem_response(request, not_found(locale))
        type_ = "method_not_allowed" if exc.status_code == 405 else "http_error"
        return problem_response(
            request,
            ApiProblem(exc.status_code, type_, str(exc.detail), headers=dict(exc.headers or {})),
        )

    async def on_cli(request: Request, exc: CliError) -> JSONResponse:
        return problem_response(request, from_cli_error(exc, locale_of(request)))

    async def on_scope(request: Request, exc: NotInScopeError) -> JSONResponse:
        return problem_response(request, not_found(locale_of(request)))

    async def on_claim(request: Request, exc: ClaimError) -> JSONResponse:
        # The refusal's own rule id; its sentence (names and status in it) in the
        # caller's language.
        locale = locale_of(request)
        detail = exc.translated(lambda s: i18n.gettext(locale, s))
        return problem_response(request, ApiProblem(409, exc.rule, detail))

    return {
        ApiProblem: on_problem,
        RequestValidationError: on_validation,
        StarletteHTTPException: on_http,
        CliError: on_cli,
        NotInScopeError: on_scope,
        ClaimError: on_claim,
    }
