"""The DR sandbox in its own process, recording every request (arrival time, API key, answer).

``python -c "import recorded_sandbox; recorded_sandbox.main(PORT)"``; ``GET /_recorder`` returns
what was seen. Its own process keeps the timings free of the test process's load.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn

from affluent.sandbox import SandboxConfig, create_app
from affluent.sandbox.faults import bearer_key


class Recorder:
    """ASGI wrapper recording every DR request's arrival, API key and answer."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/_recorder":
            await self._report(send)
            return
        if scope["type"] != "http" or scope["path"].startswith("/_sandbox"):
            await self.app(scope, receive, send)
            return
        arrived = time.monotonic()

        async def watch(message: Any) -> None:
            if message["type"] == "http.response.start":
                retry = dict(message.get("headers") or []).get(b"retry-after")
                with self.lock:
                    self.seen.append(
                        {
                            "at": arrived,
                            "key": bearer_key(scope),
                            "method": scope["method"],
                            "path": scope["path"],
                            "status": message["status"],
                            "retry_after": float(retry) if retry else None,
                        }
                    )
            await send(message)

        await self.app(scope, receive, watch)

    async def _report(self, send: Any) -> None:
        import json

        with self.lock:
            body = json.dumps({"now": time.monotonic(), "seen": self.seen}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def main(port: int) -> None:
    app = Recorder(create_app(SandboxConfig(rate_limit=None, resolve_delay=None)))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
