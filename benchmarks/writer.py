"""The single writer's load rate from Parquet, and its plain-DuckDB floor.

    python benchmarks/writer.py prepare LANDING PREPARED_DIR
    python benchmarks/writer.py load PREPARED_DIR WAREHOUSE OUT_JSON [--floor]

`prepare` (once per landing) turns every enrolments extract of LANDING into the Parquet a
worker hands the writer: the library's own chunks and slices (`plan`), each read and
pseudonymised by the library (`read_slice`, `pseudonymise`), nik and kpj as their HMAC.
Validation is skipped: it happens on the workers, not in the writer, and a generated
landing without faults has no failing rows. The chunks' SliceResults are kept beside the
Parquet (`results.pickle`) with the row count (`prepared.json`).

`load` times what the writer does with them in a new warehouse: chunk by chunk, open the
warehouse (schema ensured), `load_chunk` (audit rows, quarantine, `insert into
raw.enrolments by name select * from read_parquet(...)`, one transaction), close. With
--floor, the same chunks inserted by name into a bare table of the same columns in a plain
DuckDB file with the same memory limit, one connection and one transaction per chunk like
the writer: what is left is what the load costs DuckDB. OUT_JSON gets rows and seconds.

The harness (run.py, measurement W) starts each `load` as its own process, so that one
does not warm the other's cache, and measures its peak memory. No identifier is printed.
"""

from __future__ import annotations

import json
import pickle
import sys
import time
from datetime import date
from pathlib import Path

import duckdb

from cakupan.config import duckdb_memory_limit
from cakupan.ingest.discover import discover, plan
from cakupan.ingest.load import load_chunk
from cakupan.ingest.pseudonymise import pseudonymise
from cakupan.ingest.read import read_slice, scratch_database
from cakupan.warehouse.connection import connect
from cakupan.warehouse.pii import key_from_env
from cakupan.warehouse.runs import start_run
from cakupan.warehouse.transaction import transaction

RESULTS = "results.pickle"
PREPARED = "prepared.json"
RUN_ID = "writer-benchmark"
KIND = "enrolments"


def prepare(landing: Path, out: Path) -> None:
    key = key_from_env()
    parquet = out / "parquet"
    parquet.mkdir(parents=True, exist_ok=True)
    # discovery needs a warehouse to compare with: an empty one selects every file
    with connect(out / "discovery.duckdb") as con:
        found = discover(landing, con, start=date.min, end=date.max)
    chunks = []
    for chunk in plan([landed for landed in found.selected if landed.kind == KIND]):
        results = []
        for work in chunk.slices:
            with scratch_database(out) as con:
                results.append(pseudonymise(con, read_slice(con, landing, work), {}, key, work, parquet))
        chunks.append(results)
        print(f"prepared {sum(len(r) for r in chunks)} slice(s) of {len(chunks)} chunk(s)", flush=True)
    (out / "discovery.duckdb").unlink()
    (out / RESULTS).write_bytes(pickle.dumps(chunks))
    rows = sum(f.rows_passing for results in chunks for result in results for f in result.files)
    (out / PREPARED).write_text(json.dumps({"landing": landing.name, "rows": rows, "chunks": len(chunks)}))
    print(f"prepared {rows:,} enrolment rows in {len(chunks)} chunk(s)")


def load(prepared: Path, warehouse: Path, floor: bool) -> dict:
    chunks = pickle.loads((prepared / RESULTS).read_bytes())
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    if floor:
        first = chunks[0][0].rows
        with duckdb.connect(str(warehouse)) as con:
            con.execute("create table enrolments as select * from read_parquet(?) limit 0", [first])
    else:
        with connect(warehouse) as con:  # schema and the run row, before the clock starts
            start_run(con, RUN_ID, "backfill", {})
    started = time.perf_counter()
    for results in chunks:
        if floor:
            with duckdb.connect(str(warehouse)) as con:
                con.execute(f"set memory_limit = '{duckdb_memory_limit()}'")
                with transaction(con):
                    con.execute("insert into enrolments by name select * from read_parquet($paths)",
                                {"paths": [result.rows for result in results]})
        else:
            with connect(warehouse) as con:
                load_chunk(con, results, RUN_ID)
    seconds = time.perf_counter() - started
    table = "enrolments" if floor else "raw.enrolments"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(f"select count(*) from {table}").fetchone()[0]
    return {"rows": rows, "load_seconds": seconds, "chunks": len(chunks), "floor": floor}


def main() -> None:
    command, *arguments = sys.argv[1:]
    if command == "prepare":
        prepare(Path(arguments[0]), Path(arguments[1]))
    elif command == "load":
        prepared, warehouse, out = map(Path, arguments[:3])
        timing = load(prepared, warehouse, floor="--floor" in arguments[3:])
        out.write_text(json.dumps(timing))
        print(f"{'floor' if timing['floor'] else 'cakupan'}: {timing['rows']:,} rows in "
              f"{timing['load_seconds']:.1f} s ({timing['rows'] / timing['load_seconds']:,.0f} rows/s)")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
