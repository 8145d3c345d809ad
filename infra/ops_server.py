"""A tiny HTTP server for the worker: /metrics, /healthz and /readyz on one port.

Plain asyncio (no web framework) so that it runs on the worker's event loop and leaves
signal handling to the worker.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

Response = tuple[int, str, bytes]
Handler = Callable[[], Awaitable[Response]]
_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def json_response(status: int, doc: object) -> Response:
    """A JSON body with its status."""
    return status, "application/json", json.dumps(doc).encode()


@dataclass
class OpsServer:
    """Serves ``routes`` (path -> handler) for GET on ``host:port``."""

    host: str
    port: int
    routes: dict[str, Handler]
    _server: asyncio.Server | None = None

    async def start(self) -> None:
        """Binds and starts serving (raises OSError if the port is taken)."""
        self._server = await asyncio.start_server(self._handle, self.host, self.port)

    async def stop(self) -> None:
        """Stops accepting and closes the listening socket."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 5)
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass  # headers: not needed
            parts = request.decode("latin-1").split()
            method, path = (parts[0], parts[1].split("?", 1)[0]) if len(parts) >= 2 else ("", "")
            handler = self.routes.get(path)
            if handler is None:
                status, ctype, body = json_response(404, {"error": f"no route {path}"})
            elif method not in ("GET", "HEAD"):
                status, ctype, body = json_response(405, {"error": "GET only"})
            else:
                status, ctype, body = await handler()
            head = (
                f"HTTP/1.1 {status} {_REASONS.get(status, '')}\r\n"
                f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n"
            )
            writer.write(head.encode() + (b"" if method == "HEAD" else body))
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
