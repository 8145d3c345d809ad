"""``partnerflow``: the operations CLI.

Every command takes ``--json`` and exits 0 on success, 1 when a business rule refuses
(the message says which rule and what to do instead), 2 on bad usage or invalid input.
Each area registers its commands from its own module.
"""

from __future__ import annotations

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
    # Imported here so that each module can `from starter.cli import app` for sub-apps.
    from starter import cli_core, cli_invitations

    for module in (cli_core, cli_invitations):
        module.register(app)


_register()


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
