"""The outbound client and its host policy: where a mapping file may and may not send requests."""

from __future__ import annotations

import ipaddress
from typing import Any

import httpx
import pytest

from affluent.models import PlatformUpdate
from affluent.serving import serve_in_thread
from affluent_generic_rest import settings
from affluent_generic_rest.hosts import HostPattern, HostPolicy, PolicyError, is_public
from affluent_generic_rest.mapping import MappingError
from affluent_generic_rest.push import PushError, RestPlatformClient
from affluent_generic_rest.testing import GenericRestFake

ENV = {"NESTED_SHOP_TOKEN": "tok-1", "NESTED_SHOP_WEBHOOK_SECRET": "s"}
HOST = "api.nested-shop.example"


def update(url: str, body: Any = None, method: str = "PUT") -> PlatformUpdate:
    return PlatformUpdate(
        order_ref="o-1", kind="status", body={"method": method, "url": url, "json": body or {}}
    )


def loaded(nested: dict[str, Any], **config: Any) -> settings.Loaded:
    return settings.load({"mapping_data": nested, "env": ENV, **config})


def resolver_to(*addresses: str) -> Any:
    calls: list[str] = []

    async def resolve(host: str, port: int) -> list[Any]:
        calls.append(host)
        return [ipaddress.ip_address(a) for a in addresses]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


class Recorder:
    """An httpx transport that records requests and answers with a fixed response."""

    def __init__(self, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.status = status
        self.headers = headers or {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, headers=self.headers, text="nope" * 100)


# -- the policy ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fc00::1", False),
        ("fe80::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
    ],
)
def test_which_addresses_are_public(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    ("entry", "host", "port", "matches"),
    [
        ("api.shop.example", "api.shop.example", 443, True),
        ("api.shop.example", "shop.example", 443, False),
        ("*.shop.example", "eu.shop.example", 443, True),
        ("*.shop.example", "shop.example", 443, False),
        ("*.shop.example", "evil-shop.example", 443, False),
        ("API.Shop.Example:8443", "api.shop.example", 8443, True),
        ("api.shop.example:8443", "api.shop.example", 443, False),
        ("[2606:4700::1111]:443", "2606:4700::1111", 443, True),
    ],
)
def test_allowed_host_patterns(entry: str, host: str, port: int, matches: bool) -> None:
    assert HostPattern.parse(entry).matches(host, port) is matches


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://evil.example/x", "https://evil.example/x: host 'evil.example' is not in "
         "push.allowed_hosts (api.shop.example)"),
        ("https://api.shop.example.evil.example/", "https://api.shop.example.evil.example/: host "
         "'api.shop.example.evil.example' is not in push.allowed_hosts (api.shop.example)"),
        ("ftp://api.shop.example/x", "'ftp://api.shop.example/x' is not an absolute http(s) URL"),
        ("https://u:secret@api.shop.example/x?token=t",
         "https://api.shop.example/x: URLs must not carry user names or passwords"),
        ("https://[::1]/x", "https://[::1]/x: host '::1' is not in push.allowed_hosts "
         "(api.shop.example)"),
    ],
)  # fmt: skip
def test_refused_urls_say_why_without_leaking_secrets(url: str, message: str) -> None:
    with pytest.raises(PolicyError) as info:
        HostPolicy(["api.shop.example"]).check_url(url)
    assert str(info.value) == message
    assert "secret" not in str(info.value) and "token" not in str(info.value)


def test_development_switch_allows_loopback_on_any_port() -> None:
    strict = HostPolicy(["api.shop.example"])
    dev = HostPolicy(["api.shop.example"], allow_private=True)
    with pytest.raises(PolicyError):
        strict.check_url("http://127.0.0.1:8123/x")
    assert dev.check_url("http://127.0.0.1:8123/x").port == 8123
    with pytest.raises(PolicyError, match=r"not in push\.allowed_hosts"):
        dev.check_url("https://10.0.0.1/x")  # private, but still not a declared host


# -- the client -----------------------------------------------------------------------------------


async def test_push_reaches_the_fake_with_the_auth_header() -> None:
    fake = GenericRestFake("nested_shop")
    with serve_in_thread(fake.app) as url:
        config = fake.client_config(url)
        client = RestPlatformClient(settings.load(config))
        base = config["base_url"]
        body = {"order": {"financial_status": "paid"}}
        await client.push(update(f"{base}/orders/o-1.json", body))
        await client.aclose()
    assert fake.platform_status("o-1") == "paid"


async def test_wrong_credentials_surface_as_a_push_error() -> None:
    fake = GenericRestFake("nested_shop")
    with serve_in_thread(fake.app) as url:
        config = dict(fake.client_config(url))
        config["env"] = {"NESTED_SHOP_TOKEN": "wrong"}
        client = RestPlatformClient(settings.load(config))
        with pytest.raises(PushError) as info:
            await client.push(update(f"{config['base_url']}/orders/o-1.json?x=1", {"order": {}}))
        await client.aclose()
    assert info.value.status_code == 401
    assert str(info.value) == (
        f"PUT {config['base_url']}/orders/o-1.json: platform answered 401: "
        '{"error":"missing or wrong credentials"}'
    )


async def test_a_name_resolving_to_a_private_address_is_refused(nested: dict[str, Any]) -> None:
    transport = Recorder()
    client = RestPlatformClient(
        loaded(nested),
        resolver=resolver_to("93.184.216.34", "10.0.0.7"),
        transport=httpx.MockTransport(transport),
    )
    with pytest.raises(PolicyError) as info:
        await client.push(update(f"https://{HOST}/admin/2024-07/orders/o-1.json"))
    assert str(info.value) == (
        f"host '{HOST}' resolves to 10.0.0.7, a loopback, private or reserved address; "
        "refused unless allow_private_hosts is set"
    )
    assert transport.requests == []


async def test_the_checked_address_is_the_one_connected_to(nested: dict[str, Any]) -> None:
    transport = Recorder()
    resolve = resolver_to("93.184.216.34")
    client = RestPlatformClient(
        loaded(nested), resolver=resolve, transport=httpx.MockTransport(transport)
    )
    await client.push(update(f"https://{HOST}/admin/2024-07/orders/o-1.json", {"a": 1}))
    [request] = transport.requests
    assert request.url.host == "93.184.216.34"
    assert request.headers["host"] == HOST
    assert request.extensions["sni_hostname"] == HOST
    assert request.headers["x-nested-access-token"] == "tok-1"
    assert request.content == b'{"a":1}'
    assert resolve.calls == [HOST]


async def test_pinning_works_over_real_http(nested: dict[str, Any]) -> None:
    """A made-up name, resolved by our resolver to loopback: the request still arrives."""
    fake = GenericRestFake("nested_shop")
    with serve_in_thread(fake.app) as url:
        port = httpx.URL(url).port
        nested["push"].update(
            base_url=f"http://shop.test:{port}/admin/2024-07",
            allowed_hosts=[f"shop.test:{port}"],
            allow_private_hosts=True,
        )
        config = {"mapping_data": nested, "env": {"NESTED_SHOP_TOKEN": fake.token}}
        client = RestPlatformClient(settings.load(config), resolver=resolver_to("127.0.0.1"))
        body = {"order": {"financial_status": "paid"}}
        await client.push(update(f"http://shop.test:{port}/admin/2024-07/orders/o-9.json", body))
        await client.aclose()
    assert fake.platform_status("o-9") == "paid"


async def test_redirects_are_not_followed(nested: dict[str, Any]) -> None:
    transport = Recorder(302, {"location": "http://169.254.169.254/latest/meta-data"})
    client = RestPlatformClient(
        loaded(nested),
        resolver=resolver_to("93.184.216.34"),
        transport=httpx.MockTransport(transport),
    )
    with pytest.raises(PushError, match="platform answered 302") as info:
        await client.push(update(f"https://{HOST}/admin/2024-07/orders/o-1.json"))
    assert len(transport.requests) == 1
    assert len(str(info.value)) < 300  # the body excerpt is capped


async def test_a_tampered_update_is_still_checked(nested: dict[str, Any]) -> None:
    client = RestPlatformClient(loaded(nested), transport=httpx.MockTransport(Recorder()))
    with pytest.raises(PolicyError, match=r"not in push\.allowed_hosts"):
        await client.push(update("https://169.254.169.254/latest/meta-data"))


async def test_unreachable_platform(nested: dict[str, Any]) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = RestPlatformClient(
        loaded(nested), resolver=resolver_to("93.184.216.34"), transport=httpx.MockTransport(refuse)
    )
    with pytest.raises(PushError) as info:
        await client.push(update(f"https://{HOST}/admin/2024-07/orders/o-1.json"))
    assert str(info.value) == (
        f"PUT https://{HOST}/admin/2024-07/orders/o-1.json: ConnectError: connection refused"
    )


def test_the_client_needs_its_token(
    nested: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NESTED_SHOP_TOKEN", raising=False)
    with pytest.raises(MappingError) as info:
        RestPlatformClient(settings.load({"mapping_data": nested}))
    assert info.value.lines == [
        "`push.auth.env`: environment variable NESTED_SHOP_TOKEN is not set"
    ]
