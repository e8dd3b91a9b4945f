"""Structured logs: one JSON object per line, with ids bound, and nothing secret in them.

:func:`configure_logging` routes structlog *and* the standard library's ``logging`` (uvicorn,
SQLAlchemy, the DR client) through one formatter whose last step before rendering is
:func:`redact`. Redaction masks

- values of fields whose name says secret (``api_key``, ``secret``, ``token``, ``password``,
  ``authorization``, ``signature``, ``cookie``, ``cvv``, ...);
- Digital River keys (``sk_test_…``, ``pk_live_…``), webhook secrets (``whsec_…``), bearer and
  basic credentials, wherever they appear in text, exception tracebacks included;
- anything that looks like a payment card number (13 to 19 digits passing the Luhn check);
- every value registered with :func:`register_secret` (the configured secrets, whatever their
  shape).

Bind ids for the current task with :func:`bind` (``order``, ``event_id``, ``job_id``): they are
``contextvars``, so concurrent asyncio tasks each log their own.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import IO, Any, Literal

import structlog
from pydantic import SecretStr

__all__ = [
    "REDACTED",
    "bind",
    "configure_logging",
    "get_logger",
    "redact",
    "redact_text",
    "register_secret",
]

REDACTED = "[REDACTED]"
PAN_REDACTED = "[CARD NUMBER REDACTED]"

_SECRET_FIELD = re.compile(
    r"(secret|token|passw|authorization|api[_-]?key|apikey|signature|cookie|cvv|cvc|"
    r"card[_-]?number|^pan$|credential|private[_-]?key)",
    re.IGNORECASE,
)
_TEXT_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b([sprk]k)_(test|live)_[A-Za-z0-9_\-]+"), r"\1_\2_" + REDACTED),
    (re.compile(r"\bwhsec_[A-Za-z0-9_\-+/=]+"), "whsec_" + REDACTED),
    (re.compile(r"(?i)\b(bearer|basic|token)(\s+|=)[A-Za-z0-9._~+/=\-]{6,}"), r"\1\2" + REDACTED),
    (re.compile(r"(?i)(x-api-key[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+"), r"\1" + REDACTED),
)
_CARDISH = re.compile(r"(?<![\d])\d(?:[ \-]?\d){12,18}(?![\d])")

_known: set[str] = set()
_known_lock = threading.Lock()
_known_pattern: re.Pattern[str] | None = None


def register_secret(value: str | SecretStr | None) -> None:
    """Mask ``value`` wherever it appears in a log line from now on (values under 6 characters
    are ignored: masking them would garble ordinary words)."""
    global _known_pattern
    text = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not text or len(text) < 6:
        return
    with _known_lock:
        if text in _known:
            return
        _known.add(text)
        ordered = sorted(_known, key=len, reverse=True)
        _known_pattern = re.compile("|".join(re.escape(s) for s in ordered))


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return PAN_REDACTED if 13 <= len(digits) <= 19 and _luhn(digits) else match.group(0)


def redact_text(text: str) -> str:
    """``text`` with keys, secrets, credentials and card numbers masked."""
    pattern = _known_pattern
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    for regex, replacement in _TEXT_PATTERNS:
        text = regex.sub(replacement, text)
    return _CARDISH.sub(_mask_card, text)


def _clean(key: str | None, value: Any, depth: int = 0) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if key is not None and _SECRET_FIELD.search(key):
        return REDACTED
    if isinstance(value, SecretStr):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, int | float):
        text = str(value)
        return redact_text(text) if len(text) >= 13 and redact_text(text) != text else value
    if depth > 8:
        return redact_text(repr(value))
    if isinstance(value, Mapping):
        return {k: _clean(str(k), v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(None, v, depth + 1) for v in value]
    return redact_text(str(value))


def redact(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask secrets and card numbers in every field of the entry."""
    return {
        k: _clean(k if k not in ("event", "exception") else None, v) for k, v in event_dict.items()
    }


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


_HANDLER_NAME = "affluent"


def configure_logging(
    level: str | int = "INFO",
    *,
    fmt: Literal["json", "console"] = "json",
    stream: IO[str] | None = None,
    replace: bool = True,
) -> logging.Handler:
    """Send structlog and standard-library logs, redacted, to ``stream`` (default stderr).

    With ``replace`` the root logger's handlers are replaced by affluent's handler; without it
    the handler is added beside them (tests capturing logs). Returns the handler.
    """
    renderer: Any = (
        structlog.processors.JSONRenderer(sort_keys=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    if replace:
        for old in list(root.handlers):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    for noisy in ("httpx", "httpcore", "sqlalchemy.engine", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    structlog.configure(
        processors=[
            *_shared_processors(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    return handler


def get_logger(name: str) -> Any:
    """A structlog logger named ``name`` (rendered by :func:`configure_logging`'s handler)."""
    return structlog.stdlib.get_logger(name)


@contextmanager
def bind(**ids: Any) -> Iterator[None]:
    """Bind ids (``event_id=…``, ``order=…``, ``job_id=…``) to every log line in this block."""
    values = {k: v for k, v in ids.items() if v is not None}
    tokens = structlog.contextvars.bind_contextvars(**values)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)
