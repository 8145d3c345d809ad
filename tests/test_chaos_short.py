"""The short chaos run (``make chaos`` in small): about 60 workflows of every type and outcome
on real processes (Temporal dev server on SQLite, 2 workers, SMTP sink, PostgreSQL when it
answers), with 5 worker SIGKILLs, 1 Temporal server restart, a 4xx burst and, on PostgreSQL,
the app's connections killed; the checker must find nothing lost. Also: the sink's fail file,
and the checker itself noticing a loss."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from pathlib import Path

import pytest

from bench.chaos.check import Verdict, _sink
from bench.chaos.faults import FaultPlan
from bench.chaos.report import table
from bench.chaos.run import ChaosOptions, run_chaos
from bench.chaos.scenarios import CASES
from infra.smtp_sink import MailSink

N = 7  # per (type, outcome): 63 workflows


@pytest.mark.timeout(600)  # 2-5 min measured on the shared 2-core machine at load 8-22
def test_short_chaos_run_loses_nothing() -> None:
    plan = FaultPlan(
        window=25,
        worker_kills=5,
        server_restarts=1,
        smtp_outages=0,
        smtp_4xx_bursts=1,
        smtp_4xx_seconds=4,
        db_kills=1,
    )
    # Two workers: each process costs ~3 s of CPU to start, and a kill leaves one running.
    opts = ChaosOptions(n=N, workers=2, window=25, business_seconds=6, seed=12, plan=plan)
    result = asyncio.run(run_chaos(opts))
    text = table(result)
    print(text)

    assert result.ok, text
    assert len(result.outcomes) == N * len(CASES) == 63
    assert all(o.status == o.case.expected for o in result.outcomes)
    counts = result.faults.counts
    assert counts.get("worker_kill") == 5 and counts.get("server_restart") == 1, counts
    assert counts.get("smtp_4xx") == 1, counts
    if result.database == "PostgreSQL":
        assert counts.get("db_kill") == 1, counts
    v = result.verdict
    assert v.temporal["COMPLETED"] == 63 and sum(v.temporal.values()) == 63
    assert v.outbox["sent"] > 100 and set(v.outbox) == {"sent"}
    assert v.sink_messages == v.outbox["sent"] + v.duplicates
    assert "RESULT: nothing lost" in text and "duplicates at the sink" in text


def _send(port: int, message_id: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@x.test", "b@x.test", "hello"
    msg["Message-ID"] = message_id
    msg.set_content("hi")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(msg)


def test_the_sink_answers_the_fail_file_while_it_exists(tmp_path: Path) -> None:
    fail = tmp_path / "fail"
    with MailSink(directory=tmp_path / "mail", fail_file=fail) as sink:
        _send(sink.port, "<one@x.test>")
        fail.write_text("421 4.3.0 try later\n")
        with pytest.raises(smtplib.SMTPDataError) as exc:
            _send(sink.port, "<two@x.test>")
        assert exc.value.smtp_code == 421
        fail.unlink()
        _send(sink.port, "<two@x.test>")
        assert [m.message_id for m in sink.messages] == ["<one@x.test>", "<two@x.test>"]


def test_the_checker_reports_a_lost_email_and_counts_duplicates(tmp_path: Path) -> None:
    with MailSink(directory=tmp_path / "mail") as sink:
        _send(sink.port, "<a@x.test>")
        _send(sink.port, "<a@x.test>")  # sent again after a lost 250: a duplicate, fine
        _send(sink.port, "<stranger@x.test>")
    v = Verdict()
    _sink(tmp_path / "mail", {"<a@x.test>", "<b@x.test>"}, v)
    assert v.duplicates == 1 and v.sink_messages == 3
    assert v.problems == [
        "sink: b@x.test marked sent but never received",
        "sink: stranger@x.test received but not in the outbox",
    ]


def test_make_chaos_defaults_are_the_issue_figures() -> None:
    from bench.chaos.__main__ import parse
    from bench.chaos.scenarios import counts_of

    opts = parse([])
    per_kind: dict[str, int] = {}
    for (kind, _), count in counts_of(opts.n, opts.per_type).items():
        per_kind[kind] = per_kind.get(kind, 0) + count
    assert per_kind == dict.fromkeys(
        ("invitation", "unbinding", "payout", "renewal", "onboarding"), 1000
    )
    plan = opts.plan
    assert (plan.worker_kills, plan.server_restarts, plan.smtp_outages) == (50, 2, 2)
    assert (plan.smtp_outage_seconds, plan.smtp_4xx_bursts, plan.db_kills) == (30.0, 1, 2)
    with pytest.raises(SystemExit) as refused:
        parse(["--per-type", "0"])
    assert refused.value.code == 2
