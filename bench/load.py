"""A small closed-loop HTTP/1.1 load generator, run as its own process by ``bench.warm``.

Keep-alive connections each send the same POST again as soon as the previous answer has arrived, for a
fixed time, and the process prints ``{"requests": n, "seconds": s, "errors": e}``. Raw asyncio streams, so
the generator spends far less CPU per request than the server it measures.

    python -m bench.load --url http://127.0.0.1:8000/graphql --body '{"query": "{ __typename }"}'
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import time
from urllib.parse import urlsplit


async def _connection(host: str, port: int, request: bytes, until: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    # Without it a request may wait for the server's delayed ACK of the previous one (~40 ms).
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while time.monotonic() < until:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            counts[0] += 1
            if status != 200:
                counts[1] += 1
    finally:
        writer.close()


async def run(
    url: str, body: bytes, seconds: float, connections: int, headers: list[str] | None = None
) -> dict[str, float]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    extra = "".join(f"{header}\r\n" for header in headers or [])
    request = (
        f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\n{extra}Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    counts = [0, 0]
    started = time.monotonic()
    until = started + seconds
    await asyncio.gather(*(_connection(host, port, request, until, counts) for _ in range(connections)))
    return {"requests": counts[0], "seconds": time.monotonic() - started, "errors": counts[1]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", required=True)
    parser.add_argument("--body", required=True, help="the JSON request body")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--header", action="append", default=[], help="an extra header, 'Name: value'")
    args = parser.parse_args()
    if not args.url.startswith("http://127.") and not args.url.startswith("http://localhost"):
        parser.error("only local servers are load-tested")
    print(
        json.dumps(
            asyncio.run(run(args.url, args.body.encode(), args.seconds, args.connections, args.header))
        )
    )


if __name__ == "__main__":
    main()
