"""Speed and memory of Cakupan against two plain-DuckDB baselines measured in the same run.

    .venv/bin/python benchmarks/run.py [--quick] [--repeat N] [--data DIR] [--only p1,p2,p3,p4,w] [--province-scale N]

P1  city backfill: `cakupan backfill` of a six-year Kota Malang landing into a fresh
    warehouse, with a Prefect server already running (target: <= 3x the baseline) and
    embedded (no PREFECT_API_URL: Prefect starts a temporary server in the process).
P2  nightly cost against history: one `cakupan nightly` adding one day on a copy of a
    warehouse holding one month, and one holding six years (target: six years <= 1.5x).
P3  province scale: backfill of one year at scale 30 (target: <= 3x the baseline,
    peak memory <= 4 GB).
P4  ingest throughput by workers: P3's backfill with a Prefect server running, with
    CAKUPAN_WORKERS=1, 2 and all cores (measured once where all cores is 1 or 2), as
    throughput against 1 worker (target: 2 workers >= 1.7x); judged on the ingest step,
    timed from the command's log lines, with the wall time's ratio beside it.
W   the single writer's load rate from Parquet: the province landing's enrolments,
    pseudonymised once, loaded into raw.enrolments as the writer does, against a plain
    insert into a bare table (benchmarks/writer.py); no target, it sizes docs/scaling.md.

The baselines, each in a fresh process: the floor, benchmarks/baseline.sql (the published
counts straight from the files, no validation), and the same work, benchmarks/same_work.py
(every rule of the suites as one plain DuckDB pass, HMAC of nik and kpj, the passing rows
written to a DuckDB file, then the floor's counts over them). Every P is reported beside
both, with CPU seconds per million rows (all processes of the command, + the Prefect
server's in server mode). Every backfill's published city counts are compared with the
floor's: two programs that disagree cannot be compared for speed. Landings are generated once per scale and kept in the data folder, where the
results are also written as JSON. Figures are medians of --repeat runs with their range.
Every backfill's and nightly's ingest step ("2/4" to "3/4" in its log) and the rest are
recorded apart, since start-up and the rebuild do not change with the workers.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import tempfile
from pathlib import Path

from harness import BENCHMARKS, prefect_server
from scenarios import FULL, MEASUREMENTS, QUICK, Context
from tables import machine, print_table, results_table, write_json

# A run whose process tree grows past this is stopped: the machine is shared, and a
# benchmark must not push it into swapping or the OOM killer. Twice P3's target.
DEFAULT_MEMORY_CAP_MB = 8192


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"smaller scales (city {QUICK.city_scale:g}, province {QUICK.province_scale:g}), one run each")
    parser.add_argument("--repeat", type=int, help="runs per measurement (default 3; 1 with --quick)")
    parser.add_argument("--data", type=Path, default=BENCHMARKS / ".data",
                        help="folder for generated landings, warehouses, logs and results (default benchmarks/.data)")
    parser.add_argument("--only", default=",".join(MEASUREMENTS),
                        help=f"comma-separated subset of {','.join(MEASUREMENTS)} (default: all)")
    parser.add_argument("--province-scale", type=float,
                        help=f"scale of P3's landing (default {FULL.province_scale:g}; 10: a province-like year)")
    parser.add_argument("--memory-cap-mb", type=int, default=DEFAULT_MEMORY_CAP_MB,
                        help="stop a run whose processes pass this much memory (default %(default)s)")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    if args.repeat:
        sizes = dataclasses.replace(sizes, repeat=args.repeat)
    if args.province_scale:
        sizes = dataclasses.replace(sizes, province_scale=args.province_scale)
    chosen = [name.strip().lower() for name in args.only.split(",") if name.strip()]
    unknown = set(chosen) - MEASUREMENTS.keys()
    if unknown:
        parser.error(f"--only: unknown measurement(s) {', '.join(sorted(unknown))}")

    data = args.data.resolve()
    data.mkdir(parents=True, exist_ok=True)
    info = machine()
    print(f"machine: {info['cores']} cores, {info['memory_gb']} GB RAM, load average "
          f"{' '.join(f'{load:.1f}' for load in info['load_average'])}", flush=True)
    with tempfile.TemporaryDirectory(prefix="cakupan-bench-prefect-") as prefect_home:
        context = Context(data, sizes, data / "logs", Path(prefect_home), args.memory_cap_mb)
        with prefect_server(Path(prefect_home) / "server", data / "logs" / "prefect-server.log") as server:
            context.api_url, context.server_pid = server.api_url, server.process.pid
            for name in chosen:
                try:
                    MEASUREMENTS[name](context)
                except (RuntimeError, OSError, subprocess.CalledProcessError) as problem:
                    print(f"{name.upper()} could not be measured: {problem}", flush=True)
                    context.results.pop(name.upper(), None)
    rows, verdicts = results_table(context)
    print_table(context, rows, verdicts)
    print(f"\nwritten to {write_json(context, verdicts, args.quick)}")


if __name__ == "__main__":
    main()
