"""The SMTP mailer's connection pool, against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from domain.errors import PermanentDeliveryError
from infra.mailer import SmtpConfig, SmtpMailer
from infra.mime import OutgoingEmail, build_message
from infra.smtp_sink import MailSinkHandler, free_port


@dataclass
class PeerHandler(MailSinkHandler):
    """The sink's handler, also noting the client end of the connection of each message."""

    peers: list[object] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Notes the peer, then stores as the sink does."""
        self.peers.append(session.peer)
        return await super().handle_DATA(server, session, envelope)


@dataclass
class Server:
    """A started SMTP server whose connections can be told apart."""

    port: int
    handler: PeerHandler = field(default_factory=PeerHandler)
    controller: Controller | None = None

    def start(self) -> None:
        """Serves on ``port`` (again, after ``stop``)."""
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        """Stops serving; open connections are dropped."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def server() -> Iterator[Server]:
    """A running server on a free port."""
    s = Server(port=free_port())
    s.start()
    yield s
    s.stop()


def message(n: int) -> OutgoingEmail:
    """Message ``n`` to rcpt-n@example.test."""
    return build_message(
        sender="PartnerFlow <no-reply@partnerflow.test>",
        to=f"rcpt-{n}@example.test",
        subject=f"message {n}",
        text=f"text {n}",
        html=f"<p>html {n}</p>",
        message_id=f"<m{n}@partnerflow.test>",
    )


def mailer(server: Server, pool_size: int) -> SmtpMailer:
    """A mailer for ``server`` keeping ``pool_size`` connections."""
    return SmtpMailer(SmtpConfig(host="127.0.0.1", port=server.port, pool_size=pool_size))


async def test_pooled_messages_share_one_connection(server: Server) -> None:
    m = mailer(server, pool_size=2)
    for n in range(3):
        await m.send(message(n))
    await m.aclose()
    assert [x.subject for x in server.handler.messages] == ["message 0", "message 1", "message 2"]
    assert len(set(server.handler.peers)) == 1


async def test_without_a_pool_each_message_connects(server: Server) -> None:
    m = mailer(server, pool_size=0)
    for n in range(3):
        await m.send(message(n))
    assert len(set(server.handler.peers)) == 3


async def test_a_connection_dropped_by_a_server_restart_is_replaced(server: Server) -> None:
    m = mailer(server, pool_size=1)
    await m.send(message(0))
    server.stop()
    server.start()  # the pooled connection now points at a closed socket
    await m.send(message(1))
    await m.aclose()
    assert [x.subject for x in server.handler.messages] == ["message 0", "message 1"]
    assert len(set(server.handler.peers)) == 2


async def test_server_down_raises_for_a_retry(server: Server) -> None:
    m = mailer(server, pool_size=1)
    await m.send(message(0))
    server.stop()
    with pytest.raises(OSError):
        await m.send(message(1))
    server.start()
    await m.send(message(2))
    assert [x.subject for x in server.handler.messages] == ["message 0", "message 2"]


async def test_a_refusal_is_permanent_and_the_next_message_goes_out(server: Server) -> None:
    m = mailer(server, pool_size=1)
    server.handler.fail_next.append("550 5.7.1 refused")
    with pytest.raises(PermanentDeliveryError):
        await m.send(message(0))
    await m.send(message(1))
    await m.aclose()
    assert [x.subject for x in server.handler.messages] == ["message 1"]
