"""A real local SMTP server (aiosmtpd) that keeps every message: the dev stack's and the
tests' mailbox. Messages are kept in memory and, when a directory is given, as ``.eml`` files
that ``partnerflow mail list/show`` reads."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from functools import cached_property
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class StoredMail:
    """One received message."""

    id: str
    received_at: datetime
    mail_from: str
    rcpt_to: list[str]
    raw: bytes

    @cached_property
    def message(self) -> EmailMessage:
        """The parsed message (parsed on first use: most stored messages are only counted
        or written to a file, and parsing cost the sink more than receiving)."""
        msg = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg

    @property
    def subject(self) -> str:
        """The decoded subject."""
        return str(self.message["Subject"] or "").strip()

    @property
    def message_id(self) -> str:
        """The Message-ID header."""
        return str(self.message["Message-ID"] or "")

    def text(self) -> str:
        """The text/plain part."""
        part = self.message.get_body(preferencelist=("plain",))
        return "" if part is None else str(part.get_content())

    def html(self) -> str:
        """The text/html part."""
        part = self.message.get_body(preferencelist=("html",))
        return "" if part is None else str(part.get_content())


@dataclass
class MailSinkHandler:
    """aiosmtpd handler storing messages; ``fail_next`` lets tests inject SMTP errors."""

    directory: Path | None = None
    messages: list[StoredMail] = field(default_factory=list)
    fail_next: list[str] = field(default_factory=list)  # e.g. ["451 try later", "550 no"]
    delay_seconds: float = 0.0  # tests: hold the 250 reply to simulate a slow server
    # recipient -> reply, e.g. {"gone@x.test": "550 5.1.1 mailbox unavailable"}: a bounce
    refuse: dict[str, str] = field(default_factory=dict)
    # While this file exists, every message is answered with its first line (e.g. "421 4.3.0
    # try later"): an operator or the chaos run turns a 4xx burst on and off from outside.
    fail_file: Path | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _seq: int = 0

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        """Accepts the recipient, unless ``refuse`` names it (then answers its reply)."""
        with self._lock:
            reply = self.refuse.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Stores the message and answers 250 (or an injected failure)."""
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        injected = self._fail_file_reply()
        if injected is not None:
            return injected
        with self._lock:
            if self.fail_next:
                return self.fail_next.pop(0)
            self._seq += 1
            now = datetime.now(UTC)
            mail_id = f"{now:%Y%m%dT%H%M%S}-{self._seq:05d}"
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode()
        stored = StoredMail(
            id=mail_id,
            received_at=now,
            mail_from=str(envelope.mail_from),
            rcpt_to=[str(r) for r in envelope.rcpt_tos],
            raw=raw,
        )
        with self._lock:
            self.messages.append(stored)
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = self.directory / f".{mail_id}.eml.tmp"
            tmp.write_bytes(raw)
            tmp.rename(self.directory / f"{mail_id}.eml")
        return "250 Message accepted for delivery"

    def _fail_file_reply(self) -> str | None:
        if self.fail_file is None:
            return None
        try:
            line = self.fail_file.read_text().strip().splitlines()
        except OSError:  # no file: no failure
            return None
        return line[0] if line else "421 4.3.0 Service not available, try again later"

    def to(self, address: str) -> list[StoredMail]:
        """Messages addressed to ``address``."""
        with self._lock:
            return [m for m in self.messages if address in m.rcpt_to]

    def clear(self) -> None:
        """Forgets every message."""
        with self._lock:
            self.messages.clear()


def free_port(host: str = "127.0.0.1") -> int:
    """A port that is free now (aiosmtpd's Controller(port=0) fails its own start-up check)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing listens on ``host:port``."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


class MailSink:
    """A started SMTP server on ``host:port``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int | None = None,
        directory: Path | None = None,
        fail_file: Path | None = None,
    ):
        self.host = host
        self.port = port or free_port(host)
        self.handler = MailSinkHandler(directory=directory, fail_file=fail_file)
        self._controller = Controller(
            self.handler, hostname=host, port=self.port, data_size_limit=10_000_000
        )

    @property
    def messages(self) -> list[StoredMail]:
        """Every message received so far."""
        return list(self.handler.messages)

    def to(self, address: str) -> list[StoredMail]:
        """Messages addressed to ``address``."""
        return self.handler.to(address)

    def start(self) -> MailSink:
        """Starts serving in a background thread."""
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stops the server."""
        self._controller.stop()

    def __enter__(self) -> MailSink:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def read_mail_dir(directory: Path) -> list[tuple[str, EmailMessage]]:
    """Messages stored by a sink in ``directory``, oldest first."""
    out: list[tuple[str, EmailMessage]] = []
    if not directory.exists():
        return out
    for path in sorted(directory.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        out.append((path.stem, msg))
    return out


def serve_forever(host: str, port: int, directory: Path, fail_file: Path | None = None) -> None:
    """Runs a sink until interrupted (the dev stack's SMTP child process)."""
    sink = MailSink(host, port, directory, fail_file).start()
    print(f"SMTP sink listening on {host}:{port}, storing to {directory}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sink.stop()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="PartnerFlow's local SMTP sink")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument(
        "--fail-file",
        type=Path,
        default=os.environ.get("PARTNERFLOW_SMTP_FAIL_FILE") or None,
        help="while this file exists, answer its first line (a 4xx) to every message "
        "(default: $PARTNERFLOW_SMTP_FAIL_FILE)",
    )
    args = parser.parse_args()
    serve_forever(args.host, args.port, args.dir, args.fail_file)
