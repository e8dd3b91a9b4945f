"""Customers and saved sources: the registered-shopper flow."""

from __future__ import annotations

from decimal import Decimal

from sandbox_support import MN, Api, card

D = Decimal


async def test_customer_crud(api: Api) -> None:
    created = await api.ok(
        "POST",
        "/customers",
        {
            "id": "cust-10042",
            "email": "ada@example.com",
            "type": "individual",
            "shipping": {"name": "Ada", "address": MN},
            "metadata": {"tier": "gold"},
        },
        201,
    )
    assert created["id"] == "cust-10042"
    assert (created["enabled"], created["requestToBeForgotten"]) == (True, False)
    assert created["sources"] == []
    assert "defaultSourceId" not in created
    assert await api.ok("GET", "/customers/cust-10042") == created
    updated = await api.ok(
        "POST", "/customers/cust-10042", {"email": "ada@new.example", "requestToBeForgotten": True}
    )
    assert (updated["email"], updated["requestToBeForgotten"]) == ("ada@new.example", True)
    generated = await api.ok("POST", "/customers", {"email": "b@example.com"}, 201)
    assert generated["id"].isdigit()
    listed = await api.ok("GET", "/customers")
    assert [c["id"] for c in listed["data"]] == [generated["id"], "cust-10042"]
    by_email = await api.ok("GET", "/customers", params={"email": "b@example.com"})
    assert [c["id"] for c in by_email["data"]] == [generated["id"]]
    forgotten = await api.ok("GET", "/customers", params={"requestToBeForgotten": "true"})
    assert [c["id"] for c in forgotten["data"]] == ["cust-10042"]
    reply = await api.call("DELETE", "/customers/cust-10042")
    assert reply.status == 204
    await api.fails("GET", "/customers/cust-10042", None, 404, "not_found", "customerId")


async def test_customer_errors(local: Api) -> None:
    await local.fails("POST", "/customers", {"id": "x" * 41}, 400, "invalid_parameter", "id")
    await local.ok("POST", "/customers", {"id": "x" * 40}, 201)
    await local.fails("POST", "/customers", {"id": "x" * 40}, 409, "already_exists", "id")
    await local.fails("POST", "/customers", {"type": "robot"}, 400, "invalid_parameter", "type")
    await local.fails(
        "POST", "/customers", {"defaultSourceId": "s"}, 400, "invalid_parameter", "defaultSourceId"
    )
    await local.fails("POST", "/customers/none", {}, 404, "not_found", "customerId")


async def test_saved_source_is_reusable_across_checkouts(api: Api) -> None:
    await api.ok("POST", "/customers", {"id": "cust-1", "email": "ada@example.com"}, 201)
    checkout = await api.checkout(customerId="cust-1")
    source = await api.source(checkout)
    saved = await api.ok("POST", f"/customers/cust-1/sources/{source['id']}")
    assert (saved["reusable"], saved["customerId"], saved["state"]) == (
        True,
        "cust-1",
        "chargeable",
    )
    customer = await api.ok("GET", "/customers/cust-1")
    assert customer["defaultSourceId"] == source["id"]
    assert [s["id"] for s in customer["sources"]] == [source["id"]]

    await api.ok("POST", f"/checkouts/{checkout['id']}", {"sourceId": source["id"]})
    first = await api.ok("POST", "/orders", {"checkoutId": checkout["id"]}, 201)
    assert (first["state"], first["customerId"]) == ("accepted", "cust-1")
    assert (await api.ok("GET", f"/sources/{source['id']}"))["state"] == "chargeable"

    again = await api.checkout(customerId="cust-1", upstreamId="shop-order-2")
    await api.ok("POST", f"/checkouts/{again['id']}/sources/{source['id']}")
    second = await api.ok("POST", "/orders", {"checkoutId": again["id"]}, 201)
    assert second["payment"]["charges"][0]["sourceId"] == source["id"]
    by_customer = await api.ok("GET", "/orders", params={"customerId": "cust-1"})
    assert [o["id"] for o in by_customer["data"]] == [second["id"], first["id"]]


async def test_attach_rules(local: Api) -> None:
    await local.ok("POST", "/customers", {"id": "c1"}, 201)
    await local.ok("POST", "/customers", {"id": "c2"}, 201)
    checkout = await local.checkout()
    failed = await local.source(checkout, creditCard=card("4000000000003295"))
    await local.fails(
        "POST",
        f"/customers/c1/sources/{failed['id']}",
        None,
        409,
        "source_not_chargeable",
        "sourceId",
    )
    paypal = await local.source(checkout, "payPal")
    await local.fails(
        "POST",
        f"/customers/c1/sources/{paypal['id']}",
        None,
        409,
        "source_not_chargeable",
        "sourceId",
    )
    credit = await local.source(checkout, "customerCredit", amount=5, customerCredit={})
    await local.fails(
        "POST",
        f"/customers/c1/sources/{credit['id']}",
        None,
        409,
        "nonreusable_source",
        "sourceId",
    )
    good = await local.source(checkout)
    await local.ok("POST", f"/customers/c1/sources/{good['id']}")
    await local.fails(
        "POST", f"/customers/c2/sources/{good['id']}", None, 409, "source_in_use", "sourceId"
    )
    await local.fails("POST", "/customers/c1/sources/nope", None, 404, "not_found", "sourceId")

    reply = await local.call("DELETE", f"/customers/c1/sources/{good['id']}")
    assert reply.status == 204
    assert (await local.ok("GET", f"/sources/{good['id']}"))["state"] == "cancelled"
    customer = await local.ok("GET", "/customers/c1")
    assert (customer["sources"], customer.get("defaultSourceId")) == ([], None)
    await local.fails(
        "POST",
        f"/customers/c1/sources/{good['id']}",
        None,
        409,
        "source_not_chargeable",
        "sourceId",
    )
