"""Real HTTP servers for tests on 127.0.0.1: ``serve_app`` (the adapter SDK's ``serve_asgi``, so there is
one way to serve an app in-process), a listener that never answers (for timeouts), one that hangs up on every
request and a port nobody listens on (for refused connections)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

from adapters.sdk.asgi_server import serve_asgi as serve_app

__all__ = ["black_hole", "closed_port", "hang_up", "serve_app"]


def _bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.asynccontextmanager
async def black_hole() -> AsyncIterator[str]:
    """A listener that accepts connections and never answers; yields its base URL."""
    held: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        with contextlib.suppress(ConnectionError):
            await reader.read()  # until the client gives up

    server = await asyncio.start_server(swallow, sock=_bound_socket())
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


@contextlib.asynccontextmanager
async def hang_up() -> AsyncIterator[str]:
    """A listener that reads the request line and closes the connection without a word; yields its URL."""

    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            await reader.readline()
        writer.close()

    server = await asyncio.start_server(drop, sock=_bound_socket())
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (bound, then released)."""
    sock = _bound_socket()
    port: int = sock.getsockname()[1]
    sock.close()
    return port
