"""The connector service: ASGI app (webhooks in, storefront API), workers, reconciler.

- :func:`create_app` builds the ASGI app (``affluent serve``);
- :class:`Worker` works off the inbox and outboxes (``affluent worker``);
- :func:`reconcile` feeds DR events missed by webhooks into the inbox (``affluent reconcile``);

Names are imported on first use, so a worker process never loads the web framework.
See docs/operations.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from affluent.service.app import create_app
    from affluent.service.inbox import Inbox, Job
    from affluent.service.leases import LeaseBusy, Leases, order_key
    from affluent.service.reconciler import ReconcileResult, reconcile
    from affluent.service.runtime import Runtime, load_adapters
    from affluent.service.worker import Worker, WorkerOptions, WorkerStats

_WHERE = {
    "create_app": "app",
    "Inbox": "inbox",
    "Job": "inbox",
    "LeaseBusy": "leases",
    "Leases": "leases",
    "order_key": "leases",
    "ReconcileResult": "reconciler",
    "reconcile": "reconciler",
    "Runtime": "runtime",
    "load_adapters": "runtime",
    "Worker": "worker",
    "WorkerOptions": "worker",
    "WorkerStats": "worker",
}

__all__ = [
    "Inbox",
    "Job",
    "LeaseBusy",
    "Leases",
    "ReconcileResult",
    "Runtime",
    "Worker",
    "WorkerOptions",
    "WorkerStats",
    "create_app",
    "load_adapters",
    "order_key",
    "reconcile",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'affluent.service' has no attribute {name!r}")
    return getattr(importlib.import_module(f"affluent.service.{module}"), name)
