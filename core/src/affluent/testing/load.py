"""A minimal HTTP/1.1 load client: many keep-alive connections POSTing at once.

Written on asyncio streams so that load tests and benchmarks measure the server, not a client
library (httpx's pool is itself the bottleneck at a couple of hundred connections here).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping


async def blast(
    url: str, requests: list[tuple[bytes, Mapping[str, str]]], *, concurrency: int
) -> tuple[list[int], list[float], float]:
    """POST every (body, headers) over ``concurrency`` keep-alive connections at once.

    A minimal HTTP/1.1 client on asyncio streams, so the figures measure the server rather
    than the client library. Returns statuses, latencies (seconds) and elapsed time.
    """
    host, port = url.removeprefix("http://").split("/", 1)[0].split(":")
    path = "/" + url.removeprefix("http://").split("/", 1)[1]
    pending = iter(requests)
    statuses: list[int] = []
    latencies: list[float] = []

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for body, headers in pending:
                head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n"
                head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
                started = time.perf_counter()
                writer.write(head.encode() + body)
                await writer.drain()
                status = int((await reader.readline()).split()[1])
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                statuses.append(status)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return statuses, latencies, time.perf_counter() - started
