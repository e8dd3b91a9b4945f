"""``affluent demo``: every standard-flow scenario, for every installed adapter, in one process.

The sandbox runs in process; each adapter's platform fake runs under uvicorn on loopback; the
store is a temporary SQLite file. DR events reach the flow as signed webhooks delivered by the
sandbox to an in-process receiver, which verifies them before handing them to the flow.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from affluent.dr import AsyncDigitalRiver, construct_event, sign
from affluent.dr.errors import SignatureVerificationError
from affluent.errors import UnknownOrder
from affluent.flow import Flow
from affluent.flow.translate import event_order_id
from affluent.lifecycle import OrderStatus
from affluent.models import DemoCart
from affluent.platform import PlatformFake
from affluent.plugins import Adapters
from affluent.sandbox import SandboxConfig, create_app
from affluent.sandbox.faults import InProcessTransport
from affluent.serving import serve_in_thread
from affluent.store import Store
from affluent.testing.sources import DECLINED, VISA, browser_source

Payment = Literal["card", "declined_card", "wire", "wire_fails"]
API_KEY = "sk_test_affluent_demo"
SKUS = {"sku-widget-blue": "Blue widget", "sku-gadget": "Gadget"}
S = OrderStatus


@dataclass(frozen=True)
class Scenario:
    """One walk through the standard flow and what it must end in."""

    name: str
    expect_state: str | None
    expect_status: OrderStatus
    email_user: str = "ada"
    registered: bool = False
    save: bool = False
    payment: Payment = "card"
    resolve: Literal["accept", "block"] | None = None
    quantity: int = 2
    shipments: tuple[tuple[int, int], ...] = ()
    """(shipped, cancelled) of line L1 per platform event."""
    replay_events: bool = False


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("guest accepted", "complete", S.complete, shipments=((2, 0),)),
    Scenario(
        "registered, saved card",
        "complete",
        S.complete,
        registered=True,
        save=True,
        shipments=((2, 0),),
    ),
    Scenario(
        "in_review → accepted",
        "accepted",
        S.ready_to_fulfill,
        email_user="review",
        resolve="accept",
    ),
    Scenario("in_review → blocked", "blocked", S.blocked, email_user="review", resolve="block"),
    Scenario(
        "pending_payment → accepted",
        "accepted",
        S.ready_to_fulfill,
        payment="wire",
        resolve="accept",
    ),
    Scenario(
        "pending_payment → charge failed", "cancelled", S.payment_failed, payment="wire_fails"
    ),
    Scenario("409 decline", None, S.payment_failed, payment="declined_card"),
    Scenario(
        "partial shipment, cancel the rest",
        "complete",
        S.complete,
        quantity=3,
        shipments=((1, 0), (1, 0), (0, 1)),
    ),
    Scenario(
        "duplicated + reordered webhooks",
        "complete",
        S.complete,
        email_user="review",
        resolve="accept",
        shipments=((2, 0),),
        replay_events=True,
    ),
)


@dataclass
class Row:
    """One line of the demo table."""

    scenario: str
    adapter: str
    expected: str
    dr_state: str
    status: str
    platform_status: str
    shipped: int
    cancelled: int
    seconds: float
    platform_writes: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.expected == f"{self.dr_state} / {self.status}"


@dataclass
class DemoEnv:
    """The running pieces: sandbox, DR client, store, flow and the platform fakes."""

    flow: Flow
    dr: AsyncDigitalRiver
    control: httpx.AsyncClient
    fakes: dict[str, PlatformFake]
    secrets: list[str]
    receiver: httpx.AsyncClient
    events_seen: int = 0
    unknown_retries: int = 0
    delivered: dict[str, list[bytes]] = field(default_factory=dict)
    """Raw bodies of the events delivered so far, by DR order id."""


def _receiver(get_env: Callable[[], DemoEnv]) -> Starlette:
    """The webhook endpoint the sandbox delivers DR events to."""

    async def receive(request: Request) -> Response:
        env = get_env()
        body = await request.body()
        try:
            event = construct_event(
                body, request.headers.get("digitalriver-signature"), env.secrets
            )
        except SignatureVerificationError as exc:
            return JSONResponse({"error": str(exc)}, status_code=401)
        try:
            outcome = await env.flow.handle_dr_event(event)
        except UnknownOrder as exc:  # the order is being recorded right now: ask for a retry
            env.unknown_retries += 1
            return JSONResponse({"error": str(exc)}, status_code=409)
        env.events_seen += 1
        obj = event.data.object if event.data and isinstance(event.data.object, dict) else {}
        order_id = event_order_id(str(event.type), obj)
        if order_id:
            env.delivered.setdefault(str(order_id), []).append(body)
        return JSONResponse({"outcome": outcome}, status_code=202)

    return Starlette(routes=[Route("/webhooks/digital-river", receive, methods=["POST"])])


@contextlib.asynccontextmanager
async def demo_env(
    adapters: Adapters, workdir: Path, store: Store | None = None
) -> AsyncIterator[DemoEnv]:
    """Start the sandbox, the fakes, the store and the flow; tear everything down after.

    Without ``store``, a SQLite file in ``workdir`` is created (and disposed of afterwards).
    """
    holder: list[DemoEnv] = []
    receiver_app = _receiver(lambda: holder[0])
    sandbox = create_app(
        SandboxConfig(
            rate_limit=None,
            resolve_delay=None,
            webhook_transport=httpx.ASGITransport(app=receiver_app),
            webhook_retry_delays=(0.05, 0.1, 0.2, 0.4, 0.8, 1.6),
        )
    )
    fakes = {}
    for name in adapters.names:
        fake = adapters.hooks(name).platform_fake()
        if fake is not None:
            fakes[name] = fake
    with contextlib.ExitStack() as stack:
        urls = {
            name: stack.enter_context(serve_in_thread(fake.app)) for name, fake in fakes.items()
        }
        configs = {name: fakes[name].client_config(url) for name, url in urls.items()}
        own_store = store is None
        if store is None:
            store = Store(f"sqlite:///{workdir / 'affluent-demo.sqlite3'}")
            store.upgrade()
        transport = InProcessTransport(sandbox)
        base = "http://sandbox.invalid"
        async with (
            httpx.AsyncClient(transport=transport, base_url=base) as control,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=receiver_app), base_url=base
            ) as receiver,
            AsyncDigitalRiver(
                api_key=API_KEY, base_url=base, http_client=httpx.AsyncClient(transport=transport)
            ) as dr,
        ):
            emulator = sandbox.state.sandbox
            await emulator.start()
            await dr.webhooks.create({"address": f"{base}/webhooks/digital-river", "types": ["*"]})
            for sku, name in SKUS.items():
                await dr.skus.create({"id": sku, "name": name, "physical": True})
            flow = Flow(dr=dr, store=store, adapters=adapters, configs=configs, lookup_delay=0.05)
            env = DemoEnv(flow, dr, control, fakes, emulator.webhook_secrets(), receiver)
            holder.append(env)
            try:
                yield env
            finally:
                await flow.aclose()
                await emulator.aclose()
                if own_store:
                    store.dispose()


async def _wait_for(check: Callable[[], bool], limit: float = 15.0) -> None:
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the expected state was not reached in time")
        await asyncio.sleep(0.025)


async def _source(env: DemoEnv, checkout_id: str, payment: Payment) -> str:
    """Create the payment source Drop-in would have created in the shopper's browser."""
    return await browser_source(
        env.dr,
        checkout_id,
        kind="wire" if payment in ("wire", "wire_fails") else "card",
        number=DECLINED if payment == "declined_card" else VISA,
        last_name="SourceFailWithDelay" if payment == "wire_fails" else "Lovelace",
    )


async def run_scenario(env: DemoEnv, adapter: str, scenario: Scenario, index: int) -> Row:
    """Walk one scenario for one adapter and report what DR and the platform ended with."""
    started = time.perf_counter()
    flow, fake = env.flow, env.fakes[adapter]
    ref = f"{adapter}-{index}-{uuid.uuid4().hex[:8]}"
    customer = f"cust-{ref}" if scenario.registered else None
    suffix = {"accept": "+accept", "block": "+block"}.get(scenario.resolve or "", "")
    email = f"{scenario.email_user}{suffix if scenario.email_user == 'review' else ''}@example.com"
    cart = DemoCart(
        order_ref=ref,
        email=email,
        customer_id=customer,
        lines=[
            ("L1", "sku-widget-blue", scenario.quantity, Decimal("15.00")),
            ("L2", "sku-gadget", 1, Decimal("9.99")),
        ],
    )
    expected = f"{scenario.expect_state or '(no order)'} / {scenario.expect_status.value}"
    row = Row(scenario.name, adapter, expected, "?", "?", "?", 0, 0, 0.0)
    try:
        await flow.begin_checkout(adapter, fake.checkout_payload(cart))
        checkout_id = flow.order(adapter, ref).dr_checkout_id
        assert checkout_id is not None
        source = await _source(env, checkout_id, scenario.payment)
        await flow.hand_off_payment(adapter, fake.payment_payload(ref, source, scenario.save))
        result = await flow.submit(adapter, ref)
        if scenario.resolve and result.dr_order_id:
            outcome = scenario.resolve
            response = await env.control.post(
                f"/_sandbox/orders/{result.dr_order_id}/resolve", json={"outcome": outcome}
            )
            response.raise_for_status()
        if scenario.payment == "wire_fails" and result.dr_order_id:
            response = await env.control.post(
                f"/_sandbox/orders/{result.dr_order_id}/resolve", json={"outcome": "fail_charge"}
            )
            response.raise_for_status()
        if scenario.shipments:
            await _wait_for(lambda: flow.order(adapter, ref).status == S.ready_to_fulfill)
            for number, (shipped, cancelled) in enumerate(scenario.shipments):
                changes = [("L1", shipped, cancelled)]
                if number == 0:
                    changes.append(("L2", 1, 0))
                tracking = (
                    {"company": "UPS", "number": f"1Z{index:06d}{number}"} if shipped else None
                )
                payload = fake.line_payload(ref, f"{ref}-change-{number}", changes, tracking)
                await flow.apply_line_changes(adapter, payload)
        await _wait_for(lambda: flow.order(adapter, ref).status == scenario.expect_status)
        await _wait_for(lambda: flow.write_counts(adapter, ref)["pending"] == 0)
        if scenario.replay_events and result.dr_order_id:
            await _replay(env, result.dr_order_id)
        view = flow.order(adapter, ref)
        dr_state = "(no order)"
        if view.dr_order_id:
            dr_state = str((await env.dr.orders.get(view.dr_order_id)).state)
        line = next(line for line in view.lines if line.line_ref == "L1")
        row.dr_state, row.status = dr_state, str(view.status)
        row.platform_status = fake.platform_status(ref)
        row.platform_writes = flow.write_counts(adapter, ref)["sent"]
        row.shipped, row.cancelled = line.fulfilled, line.cancelled
    except Exception as exc:  # reported in the table, never swallowed silently
        row.error = f"{type(exc).__name__}: {exc}"
    row.seconds = time.perf_counter() - started
    return row


async def _replay(env: DemoEnv, dr_order_id: str) -> None:
    """Deliver every event of one order again, twice each, in random order, freshly signed."""
    deliveries = list(env.delivered.get(dr_order_id, [])) * 2
    if not deliveries:
        raise RuntimeError(f"no event of order {dr_order_id} was delivered")
    random.Random(7).shuffle(deliveries)
    for body in deliveries:
        headers = {
            "DigitalRiver-Signature": sign(body, env.secrets),
            "Content-Type": "application/json",
        }
        response = await env.receiver.post("/webhooks/digital-river", content=body, headers=headers)
        if response.status_code != 202:
            raise RuntimeError(f"a replayed event answered {response.status_code}: {response.text}")


def plan(
    adapters: Sequence[str], scenarios: Sequence[Scenario], orders: int | None
) -> Iterator[tuple[str, Scenario]]:
    """Which (adapter, scenario) pairs to run: each scenario once, or ``orders`` mixed ones."""
    if orders is None:
        for scenario in scenarios:
            for adapter in adapters:
                yield adapter, scenario
        return
    for number in range(orders):
        yield adapters[number % len(adapters)], scenarios[number % len(scenarios)]


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return bool(self.rows) and all(row.ok for row in self.rows)


async def run_demo(
    adapters: Adapters,
    *,
    orders: int | None = None,
    concurrency: int = 8,
    on_row: Callable[[Row], None] | None = None,
) -> Report:
    """Run the scenarios (or ``orders`` mixed orders) and return every row."""
    report = Report()
    with tempfile.TemporaryDirectory(prefix="affluent-demo-") as workdir:
        async with demo_env(adapters, Path(workdir)) as env:
            if not env.fakes:
                return report
            jobs = list(plan(sorted(env.fakes), SCENARIOS, orders))
            limit = asyncio.Semaphore(concurrency if orders else 1)
            started = time.perf_counter()

            async def one(index: int, adapter: str, scenario: Scenario) -> None:
                async with limit:
                    row = await run_scenario(env, adapter, scenario, index)
                report.rows.append(row)
                if on_row:
                    on_row(row)

            await asyncio.gather(*(one(i, a, s) for i, (a, s) in enumerate(jobs)))
            report.seconds = time.perf_counter() - started
    return report


def render(console: Any, report: Report, *, detailed: bool) -> None:
    """Print the scenario table (or, for ``--orders``, one line per scenario) and throughput."""
    from rich.table import Table

    table = Table(title="affluent demo: expected vs got")
    for column in ("scenario", "adapter", "DR state", "status", "platform status", "ship/cancel"):
        table.add_column(column)
    table.add_column("check")
    groups: dict[tuple[str, str], list[Row]] = {}
    for row in report.rows:
        key = (
            (row.scenario, row.adapter)
            if not detailed
            else (row.scenario, f"{row.adapter}#{id(row)}")
        )
        groups.setdefault(key, []).append(row)
    for rows in groups.values():
        first, bad = rows[0], [row for row in rows if not row.ok]
        if not bad:
            check = "[green]✓ as expected[/green]" + (f" x{len(rows)}" if len(rows) > 1 else "")
        else:
            check = f"[red]✗ {len(bad)}/{len(rows)}: expected {bad[0].expected}"
            check += f", {bad[0].error}[/red]" if bad[0].error else "[/red]"
        table.add_row(
            first.scenario,
            first.adapter,
            first.dr_state,
            first.status,
            first.platform_status,
            f"{first.shipped}/{first.cancelled}",
            check,
        )
    console.print(table)
    rate = len(report.rows) / report.seconds if report.seconds else 0.0
    console.print(
        f"{len(report.rows)} orders in {report.seconds:.2f} s ({rate:.1f} orders/s), "
        f"{sum(not row.ok for row in report.rows)} differing from the expected outcome"
    )
