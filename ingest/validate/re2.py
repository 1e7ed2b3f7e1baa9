"""Python regexes of the suites for RE2 (DuckDB's regex engine), GX-free: the SQL engine's
regex branch (gx_duckdb.py) and the same-work benchmark use it."""

from __future__ import annotations

import re

_PYTHON_END_OF_TEXT = re.compile(r"(?<!\\)((?:\\\\)*)\\Z")


def re2_pattern(regex: str) -> str:
    """`\\Z` (Python's end of text) is `\\z` in RE2; the rest of the syntax the suites use
    (anchors, classes, `(?:...)`, counted repeats) is common to both."""
    return _PYTHON_END_OF_TEXT.sub(r"\1\\z", regex)
