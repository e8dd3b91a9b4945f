"""Platform writes over HTTP: ``PUT /orders/{ref}/status`` and ``PUT /orders/{ref}/tax``."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from affluent.models import PlatformUpdate


class TemplateClient:
    """The ``PlatformClient`` the core sends queued writes through; errors make it retry."""

    def __init__(self, base_url: str, token: str) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )

    def __repr__(self) -> str:
        return f"TemplateClient({str(self._http.base_url)!r})"

    async def push(self, update: PlatformUpdate) -> None:
        path = "status" if update.kind == "status" else "tax"
        response = await self._http.put(
            f"/orders/{quote(update.order_ref, safe='')}/{path}", json=update.body
        )
        response.raise_for_status()

    async def aclose(self) -> None:
        await self._http.aclose()
