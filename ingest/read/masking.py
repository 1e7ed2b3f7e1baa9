"""Masking a record before it is kept for the quarantine: nik, kpj, and anything shaped
like them, wherever it sits (a shifted field, a swapped column); and how any untrusted text
(a landing name, a header, a value) appears in a message: `escaped`, lists `listed`."""

from __future__ import annotations

import json
import re

from cakupan.ingest.extracts import PERSONAL_COLUMNS
from cakupan.warehouse.pii import mask

# A run of 11+ digits is a kpj or nik wherever it sits.
_IDENTIFIER_LIKE = re.compile(r"\d{11,}")


def masked_record(record: dict[str, str | None | list[str]]) -> str:
    """JSON of a row with nik, kpj and anything shaped like them masked (3573*******)."""
    return json.dumps(
        {column: _masked(column, value) for column, value in record.items()},
        ensure_ascii=False,
    )


def mask_identifiers(text: str) -> str:
    return _IDENTIFIER_LIKE.sub(lambda found: mask(found.group()), text)


def _masked(column: str, value: str | None | list[str]) -> str | None | list[str]:
    if isinstance(value, list):
        return [_masked(column, item) for item in value]
    if value is None:
        return None
    if column in PERSONAL_COLUMNS:
        return mask(value)
    return mask_identifiers(value)


def escaped(text: str, width: int = 1000) -> str:
    """Untrusted text as it may appear in a message (console, Prefect log, audit reason): one
    printable line, whatever it holds. Line breaks, control and invisible characters become
    their Python escapes (\\n, \\x1b, \\u202e), a backslash is doubled, identifier-like runs
    are masked: a landing name cannot forge a log line or move the cursor. Cut at `width`
    characters (a header of 100,000 names is no message)."""
    return _shortened(mask_identifiers("".join(
        character if character.isprintable() and character != "\\" else _escape(character)
        for character in text
    )), width)


def listed(items: list[str], first: int = 5, width: int = 80) -> str:
    """`a, b, c, d, e and 19,995 more`: the first few items escaped (each cut at `width`
    characters), then how many more; a list of any length is one short line."""
    shown = ", ".join(escaped(item, width) for item in items[:first])
    return shown + (f" and {len(items) - first:,} more" if len(items) > first else "")


def _shortened(text: str, width: int) -> str:
    return text if len(text) <= width else f"{text[: width - 1]}… ({len(text):,} characters)"


def _escape(character: str) -> str:
    return "\\\\" if character == "\\" else repr(character)[1:-1]
