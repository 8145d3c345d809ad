"""``/api/start/{kind}`` and ``/api/act/{kind}``: every start form and case action of the
console (``starter.services.commands.KINDS``) as JSON, one operation per kind.

Each kind's input model is its request body, so the OpenAPI document shows the fields of
every form; the caller is the actor (never a field), and ``commands.execute`` checks the
role, the partner and the case's scope as it does for the console: outside them is 404.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from infra import i18n
from infra.i18n import N_
from starter.console.api_base import (
    PROBLEMS,
    ApiProblem,
    Caller,
    CallerDep,
    ContextDep,
    FieldProblem,
    from_cli_error,
    not_found,
)
from starter.services.commands import KINDS, Kind, OutOfScopeError, execute
from starter.services.commands import field_errors as kind_field_errors
from starter.services.commands_base import CommandInput
from starter.services.context import AppContext
from starter.services.errors import BadInputError, CliError
from starter.services.jsonable import to_jsonable

router = APIRouter(tags=["start and act"], responses=PROBLEMS)


class KindOut(BaseModel):
    """A start form or case action the caller may use."""

    name: str
    title: str
    group: str
    about: str
    case: str | None
    method: str
    path: str
    partner_field: str | None


class DoneOut(BaseModel):
    """What the form did: the case to follow, a one-line message, and the service's answer."""

    workflow_id: str | None
    message: str
    result: Any = None


def path_of(kind: Kind) -> str:
    """``/start/{name}`` for a kind that starts something, ``/act/{name}`` for a case action."""
    return f"/{'act' if kind.case else 'start'}/{kind.name}"


async def run_kind(kind: Kind, body: CommandInput, caller: Caller, ctx: AppContext) -> DoneOut:
    """Runs the kind for the caller; every refusal as the problem the console would show."""
    try:
        done = await execute(ctx, caller.actor, kind, body)
    except OutOfScopeError:
        raise not_found(caller.locale) from None
    except BadInputError as exc:
        errors = kind_field_errors(kind, exc, lambda s: i18n.gettext(caller.locale, s))
        named = [FieldProblem(field=k, detail=v) for k, v in errors.items() if k]
        problem = from_cli_error(exc, caller.locale)
        raise ApiProblem(
            422,
            problem.type,
            problem.detail,
            field=named[0].field if named else None,
            errors=named,
        ) from None
    except CliError as exc:
        raise from_cli_error(exc, caller.locale) from None
    return DoneOut(
        workflow_id=done.workflow_id,
        message=done.text(caller.t),
        result=to_jsonable(done.result),
    )


def _endpoint(kind: Kind) -> Callable[..., Awaitable[JSONResponse]]:
    """The operation of one kind, its body typed with the kind's model (for validation and
    for the OpenAPI document)."""

    async def endpoint(body: CommandInput, caller: Caller, ctx: AppContext) -> JSONResponse:
        done = await run_kind(kind, body, caller, ctx)
        headers = {"Location": f"/api/cases/{done.workflow_id}"} if done.workflow_id else {}
        status = 200 if kind.case else 201
        return JSONResponse(done.model_dump(mode="json"), status_code=status, headers=headers)

    # FastAPI reads the parameters from the signature: the body is this kind's model.
    kw = inspect.Parameter.KEYWORD_ONLY
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("body", kw, annotation=kind.model),
            inspect.Parameter("caller", kw, annotation=CallerDep),
            inspect.Parameter("ctx", kw, annotation=ContextDep),
        ],
        return_annotation=JSONResponse,
    )
    return endpoint


@router.get("/start", response_model=list[KindOut], summary=N_("The forms you may use"))
async def list_kinds(caller: CallerDep) -> list[KindOut]:
    """Start forms and case actions of your role, with the operation of each."""
    return [
        KindOut(
            name=k.name,
            title=caller.t(k.title),
            group=caller.t(k.group),
            about=caller.t(k.about) if k.about else "",
            case=k.case,
            method="POST",
            path="/api" + path_of(k),
            partner_field=k.partner_field,
        )
        for k in KINDS.values()
        if k.may_use(caller.actor)
    ]


for _kind in KINDS.values():
    router.add_api_route(
        path_of(_kind),
        _endpoint(_kind),
        methods=["POST"],
        response_model=DoneOut,
        status_code=200 if _kind.case else 201,
        summary=_kind.title,
        description=(_kind.about or "")
        + (" Roles: " + ", ".join(sorted(r.value for r in _kind.roles)) + "."),
        name=_kind.name,
    )
