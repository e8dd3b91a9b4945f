"""Payment sources as Drop-in would create them in the shopper's browser, for tests and demos.

In production the browser creates the source against DR with the checkout's payment session;
affluent only ever sees its id. Tests, the demo and the benchmarks stand in for the browser.
"""

from __future__ import annotations

from typing import Any, Literal

from affluent.dr import AsyncDigitalRiver

VISA = "4444222233331111"
"""A sandbox test card that authorizes."""
DECLINED = "4000000000003600"
"""A sandbox test card that DR declines when the order is created."""
ADDRESS = {
    "line1": "12 Elm Ave",
    "city": "St Paul",
    "postalCode": "55102",
    "state": "MN",
    "country": "US",
}


def source_request(
    session_id: str | None,
    *,
    kind: Literal["card", "wire"] = "card",
    number: str = VISA,
    last_name: str = "Lovelace",
    email: str | None = "ada@example.com",
) -> dict[str, Any]:
    """The ``POST /sources`` body; ``last_name`` drives sandbox triggers (see docs/sandbox.md)."""
    owner = {"firstName": "Ada", "lastName": last_name, "email": email, "address": ADDRESS}
    if kind == "wire":
        return {
            "type": "wireTransfer",
            "paymentSessionId": session_id,
            "owner": owner,
            "wireTransfer": {},
        }
    card = {"number": number, "expirationMonth": 7, "expirationYear": 2031, "cvv": "123"}
    return {
        "type": "creditCard",
        "paymentSessionId": session_id,
        "owner": owner,
        "creditCard": card,
    }


async def browser_source(
    dr: AsyncDigitalRiver,
    checkout_id: str,
    *,
    kind: Literal["card", "wire"] = "card",
    number: str = VISA,
    last_name: str = "Lovelace",
) -> str:
    """Create a source for the checkout's payment session, as the browser would; its id.

    The owner's email is the checkout's, as Drop-in fills it in.
    """
    checkout = await dr.checkouts.get(checkout_id)
    session = checkout.payment.session if checkout.payment else None
    if session is None:
        raise ValueError(f"checkout {checkout_id} has no payment session")
    body = source_request(
        session.id, kind=kind, number=number, last_name=last_name, email=checkout.email
    )
    return str((await dr.sources.create(body)).id)
