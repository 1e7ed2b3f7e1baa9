"""What runs leave beside the warehouse while they work: `scratch/<run id>/` holds the Parquet
the workers prepare for the writer and each worker's staging DuckDB (raw rows, nik and kpj
included, until the slice is pseudonymised). A run removes its own folder when it ends; a
run that was killed (kill -9, out of memory, a worker that died) cannot, so the next writer
removes every folder it finds there. Only the holder of the writer lock sweeps: every other
run that used this scratch has ended.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from cakupan.config import scratch_root


def sweep_ended_runs(warehouse: str | Path) -> list[str]:
    """Remove the scratch folders of runs that ended (call holding the writer lock); returns their run ids."""
    root = scratch_root(warehouse)
    if not root.is_dir():
        return []
    swept = sorted(entry.name for entry in root.iterdir())
    for name in swept:
        entry = root / name
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    return swept
