"""Typed Digital River client: models, errors, retries, pagination and webhook signatures.

::

    from affluent.dr import DigitalRiver, AsyncDigitalRiver

    with DigitalRiver(api_key="sk_test_...") as dr:
        checkout = dr.checkouts.create({"currency": "USD", "items": [...]})
        order = dr.orders.create(checkout.id)
"""

from affluent.dr._base import (
    API_KEY_ENV,
    BASE_URL_ENV,
    DEFAULT_API_VERSION,
    DEFAULT_BASE_URL,
    UPSTREAM_ID_HEADER,
    VERSION_HEADER,
)
from affluent.dr._calls import (
    CheckoutFilters,
    CustomerFilters,
    EventFilters,
    FulfillmentFilters,
    OrderFilters,
    PageFilters,
    RefundFilters,
    ReturnFilters,
)
from affluent.dr.client import AsyncDigitalRiver, DigitalRiver
from affluent.dr.errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DigitalRiverError,
    InternalServerError,
    NotFoundError,
    OrderDeclinedError,
    PermissionDeniedError,
    RateLimitError,
    SignatureFailure,
    SignatureVerificationError,
)
from affluent.dr.models import *  # noqa: F403  (the models' own __all__)
from affluent.dr.models import __all__ as _model_names
from affluent.dr.pagination import AsyncPage, SyncPage
from affluent.dr.signature import (
    DEFAULT_TOLERANCE,
    SIGNATURE_HEADER,
    construct_event,
    sign,
    verify,
)

__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "DEFAULT_API_VERSION",
    "DEFAULT_BASE_URL",
    "DEFAULT_TOLERANCE",
    "SIGNATURE_HEADER",
    "UPSTREAM_ID_HEADER",
    "VERSION_HEADER",
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncDigitalRiver",
    "AsyncPage",
    "AuthenticationError",
    "BadRequestError",
    "CheckoutFilters",
    "ConflictError",
    "CustomerFilters",
    "DigitalRiver",
    "DigitalRiverError",
    "EventFilters",
    "FulfillmentFilters",
    "InternalServerError",
    "NotFoundError",
    "OrderDeclinedError",
    "OrderFilters",
    "PageFilters",
    "PermissionDeniedError",
    "RateLimitError",
    "RefundFilters",
    "ReturnFilters",
    "SignatureFailure",
    "SignatureVerificationError",
    "SyncPage",
    "construct_event",
    "sign",
    "verify",
    *_model_names,
]
