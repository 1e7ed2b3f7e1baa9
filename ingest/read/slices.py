"""A staged slice handed on as pandas frames of bounded size, for validation.

A frame holds every row of its keys (it is cut by the same hash of (file, key) as the
slice), so conflicting_duplicate sees every copy. Above FRAME_ROWS rows a slice is cut:
a million rows as one frame take ~1 GB of pandas.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pandas as pd

from cakupan.ingest.extracts import SPEC_COLUMNS
from cakupan.ingest.read.rows import ROWS_TABLE, Staged

FRAME_ROWS = 500_000


def frames(con: duckdb.DuckDBPyConnection, staged: Staged, max_rows: int | None = None) -> Iterator[pd.DataFrame]:
    """Frames of the spec columns, `_file` and `_extract_date`, indexed by `_id`."""
    cuts = max(1, -(-staged.rows // (max_rows or FRAME_ROWS)))
    columns = ", ".join(f'"{column}"' for column in (*SPEC_COLUMNS[staged.kind], "_file", "_extract_date"))
    for cut in range(cuts):
        frame = con.sql(
            f"""
            select _id, {columns} from {ROWS_TABLE}
            where (_key_hash // $parts) % $cuts = $cut order by _id
            """,
            params={"parts": staged.parts, "cuts": cuts, "cut": cut},
        ).to_arrow_table().to_pandas()
        # An unnamed index: GX reports the rows of a named one as {name: label} dicts.
        yield frame.set_index("_id").rename_axis(None)
