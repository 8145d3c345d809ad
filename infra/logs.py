"""Structured logs: JSON lines in production, readable text in dev.

Every line carries the workflow id, run id, activity type and idempotency key when it is
written inside a workflow or an activity. Lines carry ids, not personal data: email
addresses that reach a message (an SMTP error quoting the recipient) are masked.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, Literal

from temporalio import activity, workflow

from infra.observe import IDEMPOTENCY_KEY

CONTEXT_FIELDS = ("workflow_id", "run_id", "workflow_type", "activity_type", "idempotency_key")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def mask_personal(text: str) -> str:
    """Replaces email addresses by ``<email>``."""
    return _EMAIL.sub("<email>", text)


class TemporalContextFilter(logging.Filter):
    """Adds the Temporal ids of the current workflow or activity to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Sets the context fields on ``record`` (None where there is no such id)."""
        ctx: dict[str, str | None] = dict.fromkeys(CONTEXT_FIELDS)
        # The SDK's own lines (e.g. an activity failure) carry the ids in ``extra``.
        extra_act = getattr(record, "temporal_activity", None)
        extra_wf = getattr(record, "temporal_workflow", None)
        if activity.in_activity():
            a = activity.info()
            ctx.update(
                workflow_id=a.workflow_id,
                run_id=a.workflow_run_id,
                workflow_type=a.workflow_type,
                activity_type=a.activity_type,
                idempotency_key=IDEMPOTENCY_KEY.get(),
            )
        elif workflow.in_workflow():
            w = workflow.info()
            ctx.update(workflow_id=w.workflow_id, run_id=w.run_id, workflow_type=w.workflow_type)
        elif isinstance(extra_act, dict):
            ctx.update(
                workflow_id=extra_act.get("workflow_id"),
                run_id=extra_act.get("workflow_run_id"),
                workflow_type=extra_act.get("workflow_type"),
                activity_type=extra_act.get("activity_type"),
            )
        elif isinstance(extra_wf, dict):
            ctx.update(
                workflow_id=extra_wf.get("workflow_id"),
                run_id=extra_wf.get("run_id"),
                workflow_type=extra_wf.get("workflow_type"),
            )
        for name, value in ctx.items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, context ids, exception."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line (email addresses masked)."""
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_personal(record.getMessage()),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                doc[name] = value
        if record.exc_info:
            doc["exception"] = mask_personal(self.formatException(record.exc_info))
        return json.dumps(doc, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Readable lines for a terminal, with the ids that are set appended."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The line, then ``key=value`` for each context id present (addresses masked)."""
        line = super().format(record)
        ids = " ".join(
            f"{name}={getattr(record, name)}"
            for name in CONTEXT_FIELDS
            if name != "workflow_type" and getattr(record, name, None) is not None
        )
        return mask_personal(f"{line} [{ids}]" if ids else line)


def make_handler(fmt: Literal["json", "text"], stream: Any = None) -> logging.Handler:
    """A stream handler with the context filter and the chosen formatter."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(TemporalContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    return handler


def configure_logging(fmt: Literal["json", "text"], level: str = "INFO") -> None:
    """Makes our handler the root logger's only one (a process's entry point calls this;
    an earlier ``basicConfig`` handler would print every line twice)."""
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(make_handler(fmt))
    root.setLevel(level)
