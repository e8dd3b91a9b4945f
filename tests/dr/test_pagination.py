"""Pagination (pages, auto-paging, both directions) and the reconcile look-ups built on it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from dr_support import Always, Clients, Script, collect, resolve, respond

from affluent.dr import AsyncPage, DigitalRiverError, Fulfillment, Order, SyncPage, Webhook
from affluent.dr._base import Call
from affluent.dr.pagination import PageData, list_parser, next_page_call


def paged_store(ids: list[str], page_size: int, **extra: Any) -> Always:
    """A fake list endpoint over ``ids`` honouring startingAfter / endingBefore / limit."""

    def answer(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        size = int(params.get("limit", page_size))
        if "endingBefore" in params:
            end = ids.index(params["endingBefore"])
            chunk = ids[max(0, end - size) : end]
            more = end - size > 0
        else:
            start = ids.index(params["startingAfter"]) + 1 if "startingAfter" in params else 0
            chunk = ids[start : start + size]
            more = start + size < len(ids)
        data = [{"id": i, **extra} for i in chunk]
        return respond(200, {"hasMore": more, "data": data})

    return Always(answer)


IDS = [f"o{n}" for n in range(1, 8)]  # 7 orders -> pages of 3, 3, 1


async def test_list_returns_one_page_and_next_page_walks_three(clients: Clients) -> None:
    handler = paged_store(IDS, 3)
    dr = clients(handler)
    first = await resolve(dr.orders.list(limit=3, state="accepted"))
    assert isinstance(first, SyncPage | AsyncPage)
    assert [o.id for o in first.data] == ["o1", "o2", "o3"]
    assert all(isinstance(o, Order) for o in first.data)
    assert first.has_more is True
    second = await resolve(first.next_page())
    third = await resolve(second.next_page())
    assert [o.id for o in second.data] == ["o4", "o5", "o6"]
    assert [o.id for o in third.data] == ["o7"]
    assert third.has_more is False
    assert third.has_next_page() is False
    assert await resolve(third.next_page()) is None
    queries = [list(r.url.params.multi_items()) for r in handler.requests]
    assert queries == [
        [("limit", "3"), ("state", "accepted")],
        [("limit", "3"), ("state", "accepted"), ("startingAfter", "o3")],
        [("limit", "3"), ("state", "accepted"), ("startingAfter", "o6")],
    ]


async def test_iterate_yields_every_item_across_pages(clients: Clients) -> None:
    handler = paged_store(IDS, 3)
    dr = clients(handler)
    orders = await collect(dr.orders.iterate(limit=3, upstream_id="walk-1"))
    assert [o.id for o in orders] == IDS
    assert len(handler.requests) == 3
    assert {r.headers["upstream-id"] for r in handler.requests} == {"walk-1"}


async def test_iterate_is_lazy(clients: Clients) -> None:
    handler = paged_store(IDS, 3)
    dr = clients(handler)
    iterator = dr.orders.iterate(limit=3)
    assert handler.requests == []
    if hasattr(iterator, "__anext__"):
        first = await iterator.__anext__()
        await iterator.aclose()
    else:
        first = next(iterator)
    assert first.id == "o1"
    assert len(handler.requests) == 1


async def test_page_auto_paging_from_a_later_page(clients: Clients) -> None:
    dr = clients(paged_store(IDS, 3, type="order.accepted"))
    first = await resolve(dr.events.list(limit=3, types=["order.accepted"]))
    second = await resolve(first.next_page())
    rest = await collect(second.auto_paging_iter())
    assert [e.id for e in rest] == ["o4", "o5", "o6", "o7"]


async def test_ending_before_pages_backwards(clients: Clients) -> None:
    handler = paged_store(IDS, 3)
    dr = clients(handler)
    page = await resolve(dr.orders.list(limit=3, ending_before="o7"))
    assert [o.id for o in page.data] == ["o4", "o5", "o6"]
    previous = await resolve(page.next_page())
    assert [o.id for o in previous.data] == ["o1", "o2", "o3"]
    assert handler.requests[1].url.params["endingBefore"] == "o4"
    assert "startingAfter" not in handler.requests[1].url.params


async def test_empty_list(clients: Clients) -> None:
    dr = clients(Script(respond(200, {"hasMore": False, "data": []})))
    page = await resolve(dr.refunds.list(order_id="o1"))
    assert page.data == []
    assert await resolve(page.next_page()) is None


@pytest.mark.parametrize(
    "answer",
    [
        [{"id": "w1", "enabled": True}, {"id": "w2"}],
        {"hasMore": False, "data": [{"id": "w1", "enabled": True}, {"id": "w2"}]},
    ],
    ids=["bare-array", "envelope"],
)
async def test_webhooks_list_accepts_bare_array_or_envelope(clients: Clients, answer: Any) -> None:
    dr = clients(Script(respond(200, answer)))
    page = await resolve(dr.webhooks.list())
    assert [w.id for w in page.data] == ["w1", "w2"]
    assert all(isinstance(w, Webhook) for w in page.data)
    assert page.has_more is False


def test_pagination_that_does_not_advance_is_an_error() -> None:
    call: Call[PageData[Order]] = Call(
        "GET", "/orders", list_parser(Order), params=(("startingAfter", "o3"),)
    )
    stuck = PageData([Order(id="o1"), Order(id="o3")], has_more=True)
    with pytest.raises(DigitalRiverError, match="did not advance"):
        next_page_call(call, stuck)


def test_has_more_with_no_data_stops() -> None:
    call: Call[PageData[Order]] = Call("GET", "/orders", list_parser(Order))
    assert next_page_call(call, PageData([], has_more=True)) is None


# --- look-ups used after an ambiguous failure ------------------------------------------------


async def test_find_by_checkout_returns_the_order(clients: Clients) -> None:
    order = {"id": "o5", "checkoutId": "k1", "state": "accepted"}
    script = Script(respond(200, {"hasMore": False, "data": [order]}))
    dr = clients(script)
    found = await resolve(dr.orders.find_by_checkout("k1"))
    assert isinstance(found, Order)
    assert found.id == "o5"
    assert list(script.requests[0].url.params.multi_items()) == [
        ("checkoutId", "k1"),
        ("limit", "100"),
    ]


async def test_find_by_checkout_none_when_absent_or_other_checkout(clients: Clients) -> None:
    """A server ignoring the filter must not make another checkout's order look like ours."""
    other = {"id": "o9", "checkoutId": "k2"}
    script = Script(
        respond(200, {"hasMore": False, "data": []}),
        respond(200, {"hasMore": False, "data": [other]}),
    )
    dr = clients(script)
    assert await resolve(dr.orders.find_by_checkout("k1")) is None
    assert await resolve(dr.orders.find_by_checkout("k1")) is None


async def test_find_by_upstream_id_across_pages(clients: Clients) -> None:
    script = Script(
        respond(200, {"hasMore": True, "data": [{"id": "o1", "upstreamId": "shop-1"}]}),
        respond(
            200,
            {
                "hasMore": False,
                "data": [{"id": "o2", "upstreamId": "shop-1"}, {"id": "o3", "upstreamId": "x"}],
            },
        ),
    )
    dr = clients(script)
    found = await resolve(dr.orders.find_by_upstream_id("shop-1", upstream_id="hdr-1"))
    assert [o.id for o in found] == ["o1", "o2"]
    assert script.requests[0].url.params.get_list("upstreamIds") == ["shop-1"]
    assert script.requests[1].url.params["startingAfter"] == "o1"
    assert script.requests[0].headers["upstream-id"] == "hdr-1"


async def test_fulfillments_list_for_order_reads_every_page(clients: Clients) -> None:
    ids = [f"ful_{n}" for n in range(250)]
    handler = paged_store(ids, 100, orderId="o1")
    dr = clients(handler)
    found = await resolve(dr.fulfillments.list_for_order("o1"))
    assert [f.id for f in found] == ids
    assert all(isinstance(f, Fulfillment) for f in found)
    assert len(handler.requests) == 3
    assert all(r.url.params["orderId"] == "o1" for r in handler.requests)


async def test_list_for_order_keeps_entries_without_order_id(clients: Clients) -> None:
    data = [{"id": "r1", "orderId": "o1"}, {"id": "r2"}, {"id": "r3", "orderId": "o2"}]
    script = Script(respond(200, {"hasMore": False, "data": data}))
    dr = clients(script)
    found = await resolve(dr.refunds.list_for_order("o1"))
    assert [r.id for r in found] == ["r1", "r2"]
    assert script.requests[0].url.path == "/refunds"


async def test_returns_list_for_order(clients: Clients) -> None:
    script = Script(respond(200, {"hasMore": False, "data": [{"id": "ret_1", "orderId": "o1"}]}))
    dr = clients(script)
    assert [r.id for r in await resolve(dr.returns.list_for_order("o1"))] == ["ret_1"]
    assert script.requests[0].url.path == "/returns"
