"""Reliability: every log line of the service suite, in process and from every subprocess, is
free of keys, secrets, credentials and card numbers. Runs last in the package (file name)."""

from __future__ import annotations

import logging
import re

import structlog
from service_support import CAPTURED, DR_KEY, PLATFORM_SECRET, STOREFRONT_KEY, SUBPROCESS_LOGS

from affluent.sandbox import DEFAULT_WEBHOOK_SECRET
from affluent.testing.sources import VISA

SECRETS = [DR_KEY, STOREFRONT_KEY, DEFAULT_WEBHOOK_SECRET, PLATFORM_SECRET]
PATTERNS = {
    "DR key": re.compile(r"\b[sprk]k_(?:test|live)_(?!\[REDACTED\])[A-Za-z0-9]"),
    "webhook secret": re.compile(r"whsec_(?!\[REDACTED\])[A-Za-z0-9]"),
    "bearer token": re.compile(r"(?i)bearer\s+(?!\[REDACTED\])[A-Za-z0-9._~+/=\-]{6,}"),
}
CARDISH = re.compile(r"(?<!\d)\d(?:[ \-]?\d){12,18}(?!\d)")


def luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def findings(text: str) -> list[str]:
    found = [name for name, pattern in PATTERNS.items() if pattern.search(text)]
    found += [f"secret {s[:6]}…" for s in SECRETS if s in text]
    for match in CARDISH.finditer(text):
        digits = re.sub(r"\D", "", match.group(0))
        if 13 <= len(digits) <= 19 and luhn(digits):
            found.append(f"card number {digits[:4]}…")
    return found


def test_no_secret_or_card_number_in_any_log_line() -> None:
    # This test's own attempt to leak, so the scan is never vacuous.
    logging.getLogger("affluent.test").warning(
        "leak attempt: key %s, secret %s, card %s, Bearer %s",
        DR_KEY,
        DEFAULT_WEBHOOK_SECRET,
        VISA,
        STOREFRONT_KEY,
    )
    structlog.stdlib.get_logger("affluent.test").error("leak attempt", api_key=DR_KEY, pan=VISA)
    lines: list[tuple[str, str]] = []
    for buffer in CAPTURED:
        lines += [("in process", line) for line in buffer.getvalue().splitlines()]
    for path in SUBPROCESS_LOGS:
        if path.exists():
            lines += [(path.name, line) for line in path.read_text(errors="replace").splitlines()]
    leaks = [(where, line[:300], found) for where, line in lines if (found := findings(line))]
    subprocess_lines = sum(1 for where, _ in lines if where != "in process")
    print(
        f"\n[log scan] {len(lines)} log lines ({subprocess_lines} from {len(SUBPROCESS_LOGS)} "
        f"subprocess logs) scanned for DR keys, webhook secrets, bearer tokens, configured "
        f"secrets and Luhn-valid card numbers: {len(leaks)} found"
    )
    assert any("leak attempt" in line for _, line in lines)
    assert leaks == []
