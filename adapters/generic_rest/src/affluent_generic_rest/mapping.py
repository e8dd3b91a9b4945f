"""The mapping file: its schema (pydantic), its cross-key checks, and loading it once.

The file is TOML. Every problem found while loading is reported against the key it concerns
(``events.line_shipped.quantity``), all problems at once, through :class:`MappingError`.
Loaded files are cached by path and modification time, so hooks can be called per request.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
)
from pydantic_core import ErrorDetails

from affluent.errors import AdapterError
from affluent.lifecycle import OrderStatus
from affluent_generic_rest import templates
from affluent_generic_rest.expressions import FieldSpec
from affluent_generic_rest.hosts import HostPattern, HostPolicy, PolicyError

Problem = tuple[str, str]
"""(mapping key, message)."""


class MappingError(AdapterError):
    """The mapping file (or the adapter's configuration) is wrong; ``problems`` name each key."""

    def __init__(
        self, source: str, problems: Iterable[Problem], *, context: str = "in the mapping"
    ) -> None:
        self.source = source
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{source}: {count} problem{'s' if count != 1 else ''} {context}"
        super().__init__("\n".join([head, *(f"  {line}" for line in self.lines)]))

    @property
    def lines(self) -> list[str]:
        """Each problem as the user sees it: ``\\`key\\`: message``."""
        return [f"`{key}`: {message}" if key else message for key, message in self.problems]


# -- building blocks ----------------------------------------------------------------------------


def _field(value: Any) -> FieldSpec:
    return FieldSpec.parse(value)


Expr = Annotated[FieldSpec, PlainValidator(_field)]
"""A readable field: a JMESPath string or ``{ expr, default, convert }``."""


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _header(value: Any) -> Any:
    if isinstance(value, str):
        if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", value):
            raise ValueError(f"{value!r} is not a valid HTTP header name")
        return value.lower()
    return value


def _method(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


Topics = Annotated[list[Annotated[str, Field(min_length=1)]], BeforeValidator(_as_list)]
HeaderName = Annotated[str, BeforeValidator(_header)]
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- [platform], [countries] ----------------------------------------------------------------------


class PlatformSection(Section):
    name: str = Field(min_length=1)
    description: str | None = None


# -- [cart] -------------------------------------------------------------------------------------


class ShopperMap(Section):
    customer_id: Expr | None = None
    registered: Expr | None = None
    email: Expr | None = None
    name: Expr | None = None
    locale: Expr | None = None


class ProductMap(Section):
    id: Expr
    name: Expr
    description: Expr | None = None
    url: Expr | None = None
    image: Expr | None = None
    country_of_origin: Expr | None = None


class LinesMap(Section):
    each: Expr
    line_ref: Expr
    sku_id: Expr | None = None
    product: ProductMap | None = None
    quantity: Expr
    unit_price: Expr
    discount_per_unit: Expr | None = None
    physical: Expr | None = None
    metadata: dict[str, Expr] = Field(default_factory=dict)


class AddressMap(Section):
    line1: Expr | None = None
    line2: Expr | None = None
    city: Expr | None = None
    postal_code: Expr | None = None
    state: Expr | None = None
    country: Expr


class ContactMap(AddressMap):
    name: Expr | None = None
    email: Expr | None = None
    phone: Expr | None = None
    organization: Expr | None = None


class ShippingMap(Section):
    amount: Expr
    description: Expr | None = None
    service_level: Expr | None = None


class CartMap(Section):
    order_ref: Expr
    currency: Expr
    email: Expr | None = None
    locale: Expr | None = None
    browser_ip: Expr | None = None
    tax_inclusive: Expr | None = None
    shopper: ShopperMap = Field(default_factory=ShopperMap)
    lines: LinesMap
    ship_to: ContactMap | None = None
    bill_to: ContactMap | None = None
    ship_from: AddressMap | None = None
    shipping: ShippingMap | None = None
    metadata: dict[str, Expr] = Field(default_factory=dict)


# -- [events] -----------------------------------------------------------------------------------


class EventMap(Section):
    topics: Topics = Field(default_factory=list)


class PaymentEvent(EventMap):
    order_ref: Expr
    source_id: Expr
    save: Expr | None = None


class SubmitEvent(EventMap):
    order_ref: Expr


class TrackingMap(Section):
    company: Expr | None = None
    number: Expr | None = None
    url: Expr | None = None


class LineEvent(EventMap):
    when: Expr | None = None
    order_ref: Expr
    change_ref: Expr
    lines: Expr
    line_ref: Expr
    quantity: Expr
    tracking: TrackingMap | None = None


class EventsMap(Section):
    cart_ready: EventMap | None = None
    payment: PaymentEvent
    submit: SubmitEvent | None = None
    line_shipped: LineEvent
    line_cancelled: LineEvent | None = None

    def named(self) -> dict[str, EventMap]:
        """Declared events by key, in file order of the schema."""
        found = {
            "cart_ready": self.cart_ready,
            "payment": self.payment,
            "submit": self.submit,
            "line_shipped": self.line_shipped,
            "line_cancelled": self.line_cancelled,
        }
        return {name: event for name, event in found.items() if event is not None}


# -- [webhooks] ---------------------------------------------------------------------------------


class SignatureMap(Section):
    header: HeaderName
    algorithm: Literal["sha1", "sha256", "sha512"] = "sha256"
    encoding: Literal["hex", "base64"] = "hex"
    signed: Literal["body", "timestamp.body"] = "body"
    timestamp_header: HeaderName | None = None
    prefix: str = ""
    secret_env: EnvName
    tolerance_seconds: int = Field(default=300, ge=1, le=86_400)


class WebhooksMap(Section):
    topic_header: HeaderName | None = None
    topic: Expr | None = None
    delivery_id_header: HeaderName | None = None
    delivery_id: Expr | None = None
    payload: Expr | None = None
    max_body_bytes: int = Field(default=262_144, ge=1_024, le=10_485_760)
    signature: SignatureMap


# -- [push] -------------------------------------------------------------------------------------


class AuthMap(Section):
    header: HeaderName
    env: EnvName
    format: str = "{value}"


class RequestMap(Section):
    method: Annotated[Literal["POST", "PUT", "PATCH"], BeforeValidator(_method)] = "POST"
    url: str
    body: dict[str, Any] = Field(default_factory=dict)
    line_body: dict[str, Any] | None = None


class StatusPush(RequestMap):
    words: dict[OrderStatus, str] = Field(default_factory=dict)
    requests: dict[OrderStatus, RequestMap] = Field(default_factory=dict)

    def request_for(self, status: OrderStatus) -> RequestMap:
        return self.requests.get(status, self)


class CheckoutPush(RequestMap):
    final_only: bool = False


class PushMap(Section):
    base_url: str | None = None
    allowed_hosts: list[str] = Field(min_length=1)
    allow_private_hosts: bool = False
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    auth: AuthMap | None = None
    status: StatusPush | None = None
    checkout: CheckoutPush | None = None


# -- the file -----------------------------------------------------------------------------------


class MappingFile(Section):
    version: Literal[1] = 1
    platform: PlatformSection
    countries: dict[str, Annotated[str, Field(pattern=r"^[A-Z]{2}$")]] = Field(default_factory=dict)
    cart: CartMap
    events: EventsMap
    webhooks: WebhooksMap | None = None
    push: PushMap


# -- cross-key checks ---------------------------------------------------------------------------


def _check_request(key: str, request: RequestMap, kind: str, base_url: str | None) -> list[Problem]:
    variables = templates.STATUS_VARIABLES if kind == "status" else templates.CHECKOUT_VARIABLES
    line_variables = (
        templates.STATUS_LINE_VARIABLES if kind == "status" else templates.CHECKOUT_LINE_VARIABLES
    )
    problems: list[Problem] = []
    try:
        templates.check_url(request.url, variables)
        if request.url.startswith("/") and base_url is None:
            problems.append((f"{key}.url", "a path needs push.base_url (or a full https:// URL)"))
    except ValueError as exc:
        problems.append((f"{key}.url", str(exc)))
    for suffix, message in templates.check_body(request.body, variables):
        problems.append((f"{key}.body.{suffix}" if suffix else f"{key}.body", message))
    if request.line_body is not None:
        for suffix, message in templates.check_body(request.line_body, line_variables):
            at = f"{key}.line_body.{suffix}" if suffix else f"{key}.line_body"
            problems.append((at, message))
    return problems


def _topic_problems(events: EventsMap, webhooks: WebhooksMap | None) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for name, event in events.named().items():
        for index, topic in enumerate(event.topics):
            other = seen.get(topic)
            # line events may share a topic: one platform event can ship and cancel lines
            if other is not None and {other, name} != {"line_shipped", "line_cancelled"}:
                problems.append(
                    (
                        f"events.{name}.topics[{index}]",
                        f"topic {topic!r} is also used by events.{other}",
                    )
                )
            seen.setdefault(topic, name)
    if webhooks is not None and not seen:
        problems.append(("webhooks", "no event declares topics, so no webhook could be recognised"))
    return problems


def _webhook_problems(webhooks: WebhooksMap) -> list[Problem]:
    problems: list[Problem] = []
    if (webhooks.topic_header is None) == (webhooks.topic is None):
        problems.append(
            ("webhooks", "set exactly one of topic_header (a header) or topic (an expression)")
        )
    if webhooks.delivery_id_header is not None and webhooks.delivery_id is not None:
        problems.append(("webhooks", "set at most one of delivery_id_header or delivery_id"))
    signature = webhooks.signature
    if signature.signed == "timestamp.body" and signature.timestamp_header is None:
        problems.append(
            ("webhooks.signature.timestamp_header", 'required when signed = "timestamp.body"')
        )
    return problems


def _push_problems(push: PushMap) -> list[Problem]:
    problems: list[Problem] = []
    for index, entry in enumerate(push.allowed_hosts):
        try:
            HostPattern.parse(entry)
        except ValueError as exc:
            problems.append((f"push.allowed_hosts[{index}]", str(exc)))
    if problems:
        return problems
    policy = HostPolicy(push.allowed_hosts, allow_private=push.allow_private_hosts)
    if push.base_url is not None:
        try:
            policy.check_url(push.base_url)
        except PolicyError as exc:
            problems.append(("push.base_url", str(exc)))
    if push.auth is not None and push.auth.format.count("{value}") != 1:
        problems.append(("push.auth.format", "must contain {value} exactly once"))
    requests: list[tuple[str, RequestMap, str]] = []
    if push.status is not None:
        requests.append(("push.status", push.status, "status"))
        for status, request in push.status.requests.items():
            requests.append((f"push.status.requests.{status.value}", request, "status"))
        for status in push.status.requests:
            if status not in push.status.words:
                problems.append(
                    (
                        f"push.status.requests.{status.value}",
                        f"no word for {status.value} in push.status.words, so it is never sent",
                    )
                )
    if push.checkout is not None:
        requests.append(("push.checkout", push.checkout, "checkout"))
    for key, request, kind in requests:
        found = _check_request(key, request, kind, push.base_url)
        if not found and request.url.startswith(("http://", "https://")):
            try:
                url = templates.render_url(request.url, _ANY_VARIABLES, {})
                policy.check_url(url, shown=request.url)
            except PolicyError as exc:
                found.append((f"{key}.url", str(exc)))
        problems.extend(found)
    return problems


_ANY_VARIABLES = {**templates.STATUS_VARIABLES, **templates.CHECKOUT_VARIABLES}


def _cart_problems(cart: CartMap) -> list[Problem]:
    lines = cart.lines
    if lines.sku_id is None and lines.product is None:
        return [("cart.lines", "set sku_id, or a [cart.lines.product] table, or both")]
    return []


def semantic_problems(mapping: MappingFile) -> list[Problem]:
    """Problems pydantic's types cannot see: references between keys, templates, hosts."""
    problems = _cart_problems(mapping.cart)
    problems += _topic_problems(mapping.events, mapping.webhooks)
    if mapping.events.line_cancelled is not None and mapping.events.line_cancelled.tracking:
        problems.append(
            ("events.line_cancelled.tracking", "cancelled units are not shipped; remove tracking")
        )
    if mapping.webhooks is not None:
        problems += _webhook_problems(mapping.webhooks)
    problems += _push_problems(mapping.push)
    return problems


# -- pydantic errors, in the file's words -------------------------------------------------------


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0] if len(args) == 1 else annotation
            if len(args) != 1:
                return annotation
        else:
            return annotation


def _fields_at(loc: tuple[int | str, ...]) -> list[str]:
    """Names allowed at ``loc`` in the schema, for "did you mean" hints."""
    current: Any = MappingFile
    items = list(loc)
    while items:
        part = items.pop(0)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = _unwrap(field.annotation)
        elif typing.get_origin(current) in (dict, list):
            current = _unwrap(typing.get_args(current)[-1])
        else:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _key(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _problem(error: ErrorDetails) -> Problem:
    loc = tuple(part for part in error["loc"] if part != "[key]")
    key = _key(loc)
    kind = error["type"]
    if kind == "missing":
        return key, "required key is missing"
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(loc[-1]), _fields_at(loc[:-1]), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return key, f"unknown key{hint}"
    if kind == "value_error":
        return key, str(error.get("ctx", {}).get("error", error["msg"]))
    if kind in ("enum", "literal_error"):
        return key, f"{error['msg'][0].lower()}{error['msg'][1:]}, got {error['input']!r}"
    if kind == "string_pattern_mismatch" and loc[:1] == ("countries",):
        return key, f"{error['input']!r} is not a two-letter ISO 3166-1 code"
    if kind == "string_pattern_mismatch" and str(loc[-1]).endswith("env"):
        return key, (
            f"{error['input']!r} is not an environment variable name "
            "(letters, digits and _, not starting with a digit)"
        )
    if kind == "too_short":
        return key, "must not be empty"
    return key, f"{error['msg'][0].lower()}{error['msg'][1:]}"


def validate_data(data: Mapping[str, Any], source: str) -> MappingFile:
    """Validate parsed TOML (or an equivalent dict); raise :class:`MappingError` listing all."""
    try:
        mapping = MappingFile.model_validate(dict(data))
    except ValidationError as exc:
        raise MappingError(source, [_problem(error) for error in exc.errors()]) from None
    problems = semantic_problems(mapping)
    if problems:
        raise MappingError(source, problems)
    return mapping


@functools.lru_cache(maxsize=64)
def _load_cached(path: str, _mtime_ns: int, _size: int) -> MappingFile:
    with open(path, "rb") as handle:
        try:
            data = tomllib.load(handle)
        except tomllib.TOMLDecodeError as exc:
            raise MappingError(path, [("", f"not valid TOML: {exc}")]) from None
    return validate_data(data, path)


def load_file(path: str | os.PathLike[str]) -> MappingFile:
    """Load and validate a mapping file, once per version of the file."""
    resolved = Path(path).expanduser().resolve()
    try:
        stat = resolved.stat()
    except OSError as exc:
        raise MappingError(
            str(path), [("", f"cannot read the mapping file: {exc.strerror}")]
        ) from None
    return _load_cached(str(resolved), stat.st_mtime_ns, stat.st_size)
