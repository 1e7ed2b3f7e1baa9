"""A full disk, said in one line: which folder could not be written, the file system it is on,
and what to free. DuckDB reports it as an IO error holding a JSON blob, Python as an OSError
with errno ENOSPC; either becomes DiskFull, whose message is the whole story.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cakupan.errors import DiskFull

# DuckDB: ... {"exception_message":"Could not write file \"<path>\": No space left on device","errno":"28"}
_DUCKDB_PATH = re.compile(r'file \\*"(.+?)\\*"')


def disk_full(error: BaseException, folder: Path) -> DiskFull | None:
    """DiskFull for an error that is a full disk (else None); `folder` is named when the error
    does not say which file it was writing."""
    text = str(error)
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        written = Path(error.filename) if error.filename else None
    elif "No space left on device" in text or '"errno":"28"' in text:
        found = _DUCKDB_PATH.search(text)
        written = Path(found.group(1)) if found else None
    else:
        return None
    where = written.parent if written else folder
    mount = _mount_point(where)
    free = shutil.disk_usage(mount).free // 2**20
    return DiskFull(
        f"disk full: no space left for {where} on the file system at {mount} ({free:,} MB free now); "
        f"free space there, or put the warehouse on a larger disk, and run again (files loaded so far are kept)"
    )


@contextmanager
def said_in_one_line(folder: Path) -> Iterator[None]:
    """Turn a full disk met in the block into DiskFull (nothing else changes)."""
    try:
        yield
    except Exception as error:
        full = disk_full(error, folder)
        if full is None:
            raise
        raise full from None


def _mount_point(path: Path) -> Path:
    path = path.absolute()
    while not path.exists():
        path = path.parent
    while not os.path.ismount(path):
        path = path.parent
    return path
