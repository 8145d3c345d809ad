"""partnerflow: run the partner programme's workflows (operations CLI).

Every command takes --json (one JSON document on stdout) and exits 0 on success, 1 when a
business rule refuses (the message says which rule and what to do instead), 2 on bad usage
or invalid input. Settings come from PARTNERFLOW_* variables and .env (see .env.example).
"""

from __future__ import annotations

import os
import sys

import typer

app = typer.Typer(
    name="partnerflow",
    help=__doc__,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _register() -> None:
    # Importing an importer module registers its kinds, first thing: this order is the order
    # `import --help` lists them in (the order the flat starter/ modules registered them).
    # isort: off
    from starter.imports import incentives as imports_incentives
    from starter.imports import onboarding as imports_onboarding
    from starter.imports import renewals as imports_renewals
    from starter.imports import unbinding as imports_unbinding
    from starter.imports import core as imports_core

    # isort: on
    # Imported here so that each module can `from starter.cli import app` for sub-apps.
    from starter.cli import cases as cli_cases
    from starter.cli import core as cli_core
    from starter.cli import incentives as cli_incentives
    from starter.cli import invitations as cli_invitations
    from starter.cli import onboarding as cli_onboarding
    from starter.cli import renewals as cli_renewals
    from starter.cli import unbinding as cli_unbinding
    from starter.stack import schedules

    del imports_incentives, imports_onboarding, imports_renewals, imports_unbinding

    # cli_core goes last: its `import` help lists every kind the others registered.
    for module in (
        cli_invitations,
        cli_unbinding,
        cli_renewals,
        cli_onboarding,
        cli_incentives,
        schedules,
        cli_cases,
    ):
        module.register(app)
    del imports_core
    from starter.console import cli as console_cli

    console_cli.register(app)
    from starter.cli import tokens as cli_tokens

    cli_tokens.register(app)
    cli_core.register(app)


@app.callback()
def _root(
    lang: str | None = typer.Option(
        None,
        "--lang",
        help="Language of messages and refusals: zh-CN or en (default: from LANG).",
    ),
) -> None:
    from starter.cli.output import BadInputError, report_error, set_language

    try:
        set_language(lang)
    except ValueError as exc:
        raise typer.Exit(
            report_error(BadInputError(str(exc), rule="invalid_input"), False)
        ) from None


_register()


def main() -> None:
    """Console-script entry point."""
    from infra.tracing import configure_tracing, flush_tracing

    role = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] in ("worker", "web") else "cli"
    tracing = configure_tracing(f"partnerflow-{role}")
    try:
        app()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    if tracing:
        flush_tracing()  # os._exit below skips the exporter's own exit hook
    sys.stdout.flush()
    sys.stderr.flush()
    # Every command has finished its work and its output here. The Temporal client's native
    # runtime can abort during interpreter teardown (PyGILState_Release, exit 134, seen about
    # once in ten runs), which would turn a success into a crash: skip the teardown.
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover - `python -m starter.cli` uses __main__.py
    main()
