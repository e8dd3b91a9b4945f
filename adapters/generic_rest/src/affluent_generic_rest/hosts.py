"""Which hosts a mapping file may send requests to (server-side request forgery guard).

Outbound URLs come from a file an integrator edits, so they are limited to:

- the hosts listed in ``push.allowed_hosts`` (exact names, ``*.example.com`` for subdomains,
  ``host:port`` for a non-default port);
- ``https``, and public addresses only. Loopback, private, link-local (cloud metadata),
  shared and reserved addresses are refused, both as literals and as what a name resolves
  to, unless private hosts are explicitly allowed (a development switch, used for the
  platform fake on 127.0.0.1, which then may also use ``http`` and any port).

The resolved address is the one connected to (see :mod:`affluent_generic_rest.push`), so a
name cannot be re-pointed between the check and the request.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from affluent.errors import AdapterError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_DEFAULT_PORTS = {"https": 443, "http": 80}


class PolicyError(AdapterError):
    """An outbound URL or address is not allowed by the mapping file."""


def ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def is_public(address: IPAddress) -> bool:
    """True for globally routable unicast addresses (what a platform API should live on)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def is_loopback_name(host: str) -> bool:
    literal = ip_literal(host)
    if literal is not None:
        return literal.is_loopback
    return host == "localhost" or host.endswith(".localhost")


@dataclass(frozen=True, slots=True)
class HostPattern:
    host: str
    """Lower-case name or address; ``*.`` prefix matches any subdomain."""
    port: int | None = None

    @classmethod
    def parse(cls, entry: str) -> HostPattern:
        """Read one ``allowed_hosts`` entry; ``ValueError`` says what is wrong with it."""
        text = entry.strip().lower()
        if not text or "/" in text or "@" in text or "?" in text or "#" in text:
            raise ValueError(
                f"{entry!r} is not a host name; write only the host, e.g. api.example.com"
            )
        host, port = text, None
        if text.startswith("["):
            close = text.find("]")
            host, rest = text[: close + 1], text[close + 1 :]
            if rest:
                if not rest.startswith(":"):
                    raise ValueError(f"{entry!r} is not a host name")
                port = _port(entry, rest[1:])
        elif text.count(":") == 1:
            host, raw_port = text.split(":")
            port = _port(entry, raw_port)
        name = host[2:] if host.startswith("*.") else host
        if (
            "*" in name
            or not name
            or (ip_literal(name) is None and "." not in name and name != "localhost")
        ):
            raise ValueError(
                f"{entry!r} is not a host name; use a full name such as api.example.com, "
                "or *.example.com for its subdomains"
            )
        return cls(host.strip("[]") if ip_literal(host) else host, port)

    def matches(self, host: str, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.host.startswith("*."):
            return host.endswith(self.host[1:]) and host != self.host[2:]
        return host == self.host


def _port(entry: str, raw: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ValueError(f"{entry!r}: {raw!r} is not a port number")
    return int(raw)


class HostPolicy:
    """Checks URLs and resolved addresses against a mapping file's allowed hosts."""

    def __init__(self, allowed_hosts: Sequence[str], *, allow_private: bool = False) -> None:
        self.patterns = tuple(HostPattern.parse(entry) for entry in allowed_hosts)
        self.allow_private = allow_private
        self._shown = ", ".join(allowed_hosts) or "none"

    def check_url(self, url: str, *, shown: str | None = None) -> httpx.URL:
        """Parse ``url`` and refuse it unless it targets an allowed host; return it parsed.

        :param shown: how to name the URL in messages (e.g. the template it came from).
        """
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise PolicyError(f"{url!r} is not a valid URL: {exc}") from None
        scheme, host = parsed.scheme, parsed.host.lower()
        name = shown or _safe(parsed)
        if scheme not in _DEFAULT_PORTS or not host:
            raise PolicyError(f"{url!r} is not an absolute http(s) URL")
        if parsed.userinfo:
            raise PolicyError(f"{name}: URLs must not carry user names or passwords")
        if scheme == "http" and not self.allow_private:
            raise PolicyError(
                f"{name}: plain http is refused; use https "
                "(http is allowed only with allow_private_hosts, for local development)"
            )
        port = parsed.port or _DEFAULT_PORTS[scheme]
        local_dev = self.allow_private and is_loopback_name(host)
        pattern = next((p for p in self.patterns if p.matches(host, port)), None)
        if pattern is None and not local_dev:
            if any(p.matches(host, p.port or port) for p in self.patterns):
                raise PolicyError(
                    f"{name}: port {port} of {host!r} is not allowed by "
                    f"push.allowed_hosts ({self._shown})"
                )
            raise PolicyError(f"{name}: host {host!r} is not in push.allowed_hosts ({self._shown})")
        default_port = port == _DEFAULT_PORTS[scheme]
        if pattern is not None and pattern.port is None and not local_dev and not default_port:
            raise PolicyError(
                f"{name}: port {port} is not allowed; list {host}:{port} in "
                "push.allowed_hosts to allow it"
            )
        literal = ip_literal(host)
        if literal is not None:
            self.check_address(host, literal)
        return parsed

    def check_address(self, host: str, address: IPAddress) -> None:
        """Refuse a non-public address unless private hosts are allowed."""
        if self.allow_private or is_public(address):
            return
        shown = host if str(address) == host.strip("[]") else f"{host} ({address})"
        raise PolicyError(
            f"{shown} is a loopback, private or reserved address; refused unless "
            "allow_private_hosts is set"
        )


def _safe(url: httpx.URL) -> str:
    """The URL without credentials, query or fragment (they may carry secrets), for messages."""
    host = f"[{url.host}]" if ":" in url.host else url.host
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{host}{port}{url.path}"
