"""Masking a record before it is kept for the quarantine: nik, kpj, and anything shaped
like them, wherever it sits (a shifted field, a swapped column)."""

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
