"""A chaos stack whose workers never start ends in one line that says why, not a traceback
pointing at a log the run then removes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.chaos.procs import AppDatabase, ChaosStack, last_error

CRASH = """\
Traceback (most recent call last):
  File "/work/bench/worker.py", line 46, in <module>
    asyncio.run(run(get_settings()))
infra.i18n.CatalogMissingError: locales/en/LC_MESSAGES/messages.mo is missing: run `make locales`
"""


def test_the_last_exception_line_is_the_reason() -> None:
    assert last_error("starting\n" + CRASH + "worker restarting in 1s\n") == (
        "infra.i18n.CatalogMissingError: locales/en/LC_MESSAGES/messages.mo is missing: "
        "run `make locales`"
    )
    assert "--keep" in last_error("bench worker polling\n")


async def test_workers_that_never_poll_end_the_run_with_the_reason(tmp_path: Path) -> None:
    db = await AppDatabase.create(tmp_path, use_postgres=False)
    stack = ChaosStack(workdir=tmp_path, db=db, workers=2)
    (tmp_path / "stack.log").write_text("bench worker polling\n" + CRASH)
    with pytest.raises(SystemExit) as exc:
        await stack.wait_workers_polling(timeout=0.3)
    message = str(exc.value)
    assert message.startswith("chaos: the workers did not start polling within 0s: ")
    assert message.endswith(
        "CatalogMissingError: locales/en/LC_MESSAGES/messages.mo is missing: run `make locales`"
    )
