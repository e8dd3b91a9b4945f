"""The outbound client: sends the writes the map hooks built to the platform.

Each :class:`~affluent.models.PlatformUpdate` from this adapter carries
``{"method", "url", "json"}``. Before sending, the URL is checked against the mapping's host
policy (:mod:`affluent_generic_rest.hosts`), the host name is resolved once, every address it
resolves to is checked, and the connection goes to that checked address (the original host
stays in the ``Host`` header and, for https, in SNI and certificate checks). Redirects are not
followed. Failures raise :class:`PushError`; the core retries.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from affluent.errors import AdapterError
from affluent.models import PlatformUpdate
from affluent_generic_rest.hosts import HostPolicy, IPAddress, PolicyError, ip_literal
from affluent_generic_rest.mapping import MappingError
from affluent_generic_rest.settings import Loaded

Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
USER_AGENT = "affluent-generic-rest/0.1"


class PushError(AdapterError):
    """The platform refused a write, or could not be reached."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        self.status_code = status_code
        super().__init__(message)


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Resolve ``host`` with the operating system, once."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise PushError(f"cannot resolve {host!r}: {exc.strerror}") from None
    found: list[IPAddress] = []
    for info in infos:
        address = ip_literal(str(info[4][0]).split("%", 1)[0])
        if address is not None and address not in found:
            found.append(address)
    return found


class RestPlatformClient:
    """:class:`~affluent.platform.PlatformClient` for mapping-file platforms."""

    def __init__(
        self,
        loaded: Loaded,
        *,
        resolver: Resolver | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        push = loaded.mapping.push
        self._policy: HostPolicy = loaded.policy
        self._resolver = resolver or system_resolver
        self._transport = transport
        self._timeout = httpx.Timeout(push.timeout_seconds)
        self._auth: tuple[str, str] | None = None
        if push.auth is not None:
            token = loaded.lookup(push.auth.env)
            if not token:
                raise MappingError(
                    loaded.source,
                    [("push.auth.env", f"environment variable {push.auth.env} is not set")],
                )
            self._auth = (push.auth.header, push.auth.format.replace("{value}", token))
        self._clients: dict[str, httpx.AsyncClient] = {}

    def _client(self, host: str) -> httpx.AsyncClient:
        # one client (connection pool) per host name: a pooled TLS connection is never reused
        # for a different name that happens to share an address
        client = self._clients.get(host)
        if client is None:
            client = httpx.AsyncClient(
                timeout=self._timeout, follow_redirects=False, transport=self._transport
            )
            self._clients[host] = client
        return client

    async def _address(self, host: str, port: int) -> IPAddress:
        literal = ip_literal(host)
        if literal is not None:
            return literal
        addresses = await self._resolver(host, port)
        if not addresses:
            raise PushError(f"{host!r} resolves to no address")
        for address in addresses:
            try:
                self._policy.check_address(host, address)
            except PolicyError:
                raise PolicyError(
                    f"host {host!r} resolves to {address}, a loopback, private or reserved "
                    "address; refused unless allow_private_hosts is set"
                ) from None
        return addresses[0]

    async def push(self, update: PlatformUpdate) -> None:
        spec: dict[str, Any] = update.body
        method, url, payload = spec["method"], spec["url"], spec.get("json")
        target = self._policy.check_url(url)
        port = target.port or (443 if target.scheme == "https" else 80)
        address = await self._address(target.host, port)
        headers = {
            "Host": target.netloc.decode("ascii"),
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        if self._auth is not None:
            headers[self._auth[0]] = self._auth[1]
        extensions: dict[str, Any] = {}
        if target.scheme == "https" and ip_literal(target.host) is None:
            extensions["sni_hostname"] = target.host
        client = self._client(target.host)
        request = client.build_request(
            method,
            target.copy_with(host=str(address)),
            json=payload,
            headers=headers,
            extensions=extensions,
        )
        shown = f"{method} {target.copy_with(query=None)}"
        try:
            response = await client.send(request)
        except httpx.TimeoutException:
            raise PushError(f"{shown}: the platform did not answer in time") from None
        except httpx.TransportError as exc:
            raise PushError(f"{shown}: {type(exc).__name__}: {exc}") from None
        if not response.is_success:
            excerpt = response.text[:200].strip()
            raise PushError(
                f"{shown}: platform answered {response.status_code}"
                + (f": {excerpt}" if excerpt else ""),
                status_code=response.status_code,
            )

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()
