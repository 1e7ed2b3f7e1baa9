"""Small-cell disclosure control for the per-sector and per-district tables we publish.

Reading of the rule (outputs.md, "Published figures below 10 persons in a cell ... are shown
as suppressed"):

* A person count from 1 to 9 is a *primary* suppression. A zero is published: it names
  nobody, and hiding structural zeros (sector U has no workforce) would only blur the table.
* Each year of a per-sector or per-district table is a two-way table: its rows hold
  ``parts`` (formal, informal, vulnerable) adding up to ``total`` (covered), and each column
  adds up over the rows to the city figure, which is published exactly. A line (a row, or a
  column within a year) holding exactly one suppressed cell would give that cell back by
  subtraction, so the smallest other cell of the line is suppressed too (*complementary*
  suppression), repeated until no line has exactly one. A non-zero complement is preferred:
  a suppressed zero adds no uncertainty for a reader who knows zeros are published.
* Columns computed from a suppressed count (a rate, a gap in workers) are hidden with it,
  or the count could be worked back from them.

The employer compliance list is not passed through here: see ``cakupan.report`` docs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

SMALL_CELL_LIMIT = 10
SUPPRESSED_SUFFIX = "_suppressed"


class SuppressionImpossible(ValueError):
    """A line holds a single small cell and no other cell to hide it with."""


def suppress_small_cells(
    table: pd.DataFrame,
    *,
    parts: Sequence[str],
    total: str,
    by: str,
    derived: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Copy of ``table`` with small counts and their complements set to NULL.

    ``parts`` add up to ``total`` in each row; within each value of ``by`` every count
    column adds up to a published total. ``derived`` maps a count column to the columns
    computed from it, which are set to NULL with it. For every count column ``c`` a boolean
    column ``c_suppressed`` is added, so a reader can tell a suppressed cell from a missing one.
    """
    counts = [*parts, total]
    original_index = table.index
    table = table.reset_index(drop=True)  # cells are addressed by (row, column): rows must be unique
    missing = [name for name in [*counts, by, *_flatten(derived)] if name not in table.columns]
    if missing:
        raise KeyError(f"suppress_small_cells: table has no column(s) {', '.join(missing)}")

    values = table[counts].astype("Int64")
    hidden = ((values > 0) & (values < SMALL_CELL_LIMIT)).fillna(False).astype(bool)

    row_lines = [[(index, column) for column in counts] for index in table.index]
    column_lines = [
        [(index, column) for index in group_index]
        for _, group_index in table.groupby(by, sort=False).groups.items()
        for column in counts
    ]
    lines = row_lines + column_lines

    changed = True
    while changed:
        changed = False
        for line in lines:
            if sum(hidden.at[cell] for cell in line) != 1:
                continue
            hidden.at[_complement(line, values, hidden, by_value=table.at[line[0][0], by])] = True
            changed = True

    published = table.copy()
    for column in counts:
        published[column] = values[column].mask(hidden[column])
        for dependent in (derived or {}).get(column, ()):
            published[dependent] = published[dependent].astype(_nullable(published[dependent])).mask(
                hidden[column]
            )
    for column in counts:
        published[column + SUPPRESSED_SUFFIX] = hidden[column]
    return published.set_axis(original_index)


def _complement(line, values: pd.DataFrame, hidden: pd.DataFrame, by_value) -> tuple:
    """The cell of ``line`` to hide with its single suppressed cell: smallest, non-zero first."""
    candidates = [
        (values.at[cell] == 0, values.at[cell], position, cell)
        for position, cell in enumerate(line)
        if not hidden.at[cell] and not pd.isna(values.at[cell])
    ]
    if not candidates:
        index, column = next(cell for cell in line if hidden.at[cell])
        raise SuppressionImpossible(
            f"cannot protect the small cell {column!r} (row {index!r}, {by_value!r}): "
            "no other cell in its row or column to suppress with it"
        )
    return min(candidates, key=lambda candidate: candidate[:3])[3]


def _nullable(series: pd.Series) -> str:
    """A dtype that can hold NULL for a column of rates, gaps or flags."""
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "Int64"
    if pd.api.types.is_float_dtype(series):
        return "Float64"
    return series.dtype


def _flatten(derived: Mapping[str, Sequence[str]] | None) -> list[str]:
    return [name for names in (derived or {}).values() for name in names]
