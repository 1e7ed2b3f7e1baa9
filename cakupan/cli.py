"""The `cakupan` command: the way a person, a cron line or a test drives the flows.

The commands and their options only: what a command says and how its errors end it are in
`console.py`, a flow run's start and end in `flow_runs.py`, the checks before any work in
`preflight.py`."""

from __future__ import annotations

import os
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from cakupan import config
from cakupan.console import console, day_progress, errors, guarded, step
from cakupan.errors import EXIT_FAILED, EXIT_USAGE, ExplainError, NothingPublished, Stop
from cakupan.flow_runs import check_settings, run_flow
from cakupan.preflight import require_landing, require_pii_key, serve_problems

app = typer.Typer(
    name="cakupan",
    help="Coverage of employment social security (BPJS Ketenagakerjaan) in Kota Malang.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # click's own help layout: a flag reads as a flag (--debug), not as "--debug <bool>"
    rich_markup_mode=None,
    context_settings={"max_content_width": 100},
)


def _parse_date(value: Optional[str], option: str) -> Optional[date]:
    if value is None:
        return None
    try:
        return config.parse_date(value)
    except ValueError as problem:
        raise typer.BadParameter(str(problem), param_hint=option) from None


def _check_date_order(first: date, last: date, as_written: Optional[tuple[str, str]] = None) -> None:
    try:
        config.check_date_order(first, last, "--start", as_written)
    except ValueError as problem:
        raise typer.BadParameter(str(problem), param_hint="--end") from None


LandingOption = Annotated[
    Path, typer.Option("--landing", envvar=config.LANDING_ENV, metavar="DIR", help="Landing folder of the extracts.")
]


def _name_earlier_default(warehouse: Path) -> Path:
    """An upgrade does not silently start a new warehouse beside the one at the earlier default."""
    earlier = Path(config.EARLIER_DEFAULT_WAREHOUSE)
    if warehouse == Path(config.DEFAULT_WAREHOUSE) and not warehouse.exists() and earlier.exists():
        errors.print(Text(f"warning: {earlier} holds the warehouse of the earlier default; this run uses "
                          f"{warehouse}, the default now: move that file (and its report/, data_docs/ "
                          f"folders) there, or pass --warehouse {earlier}"), soft_wrap=True)
    return warehouse


WarehouseOption = Annotated[
    Path, typer.Option("--warehouse", envvar=config.WAREHOUSE_ENV, metavar="FILE", help="The DuckDB warehouse file.",
                       callback=_name_earlier_default)
]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks and library logs.")]
WorkersOption = Annotated[
    Optional[int],
    typer.Option("--workers", envvar=config.WORKERS_ENV, metavar="N", min=1,
                 help="Worker processes that read, validate and pseudonymise (default: the CPU cores; 1: in this process)."),
]
DaskAddressOption = Annotated[
    Optional[str],
    typer.Option("--dask-address", envvar=config.DASK_ADDRESS_ENV, metavar="ADDR",
                 help="Do that work on this running Dask scheduler (tcp://host:8786) instead; its workers need "
                      "the landing at the same path, the warehouse's folder and CAKUPAN_PII_KEY."),
]

KEY_HELP = (
    "Environment: CAKUPAN_PII_KEY (required), the secret key that hashes NIK and KPJ before they "
    "are stored; the same key for every run of a warehouse. CAKUPAN_WRITER_WAIT_SECONDS (default "
    "600): how long to wait while another run writes the warehouse. CAKUPAN_SETTLE_SECONDS (default "
    "120): a landed file is loaded only once unchanged for this long (still being delivered otherwise). "
    "With PREFECT_API_URL set (in the environment or a Prefect profile), the run is recorded on that "
    "Prefect server; without it Prefect runs embedded."
)


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        console.print(f"cakupan {version('cakupan')}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Coverage of employment social security (BPJS Ketenagakerjaan) in Kota Malang."""


def _print_city_table(warehouse: Path) -> None:
    from cakupan.report.data import CITY_TABLE, read_published
    from cakupan.report.tables import city_table
    from cakupan.warehouse.connection import connect

    with connect(warehouse, read_only=True, memory_limit=config.duckdb_memory_limit()) as con:
        city = city_table(read_published(con, (CITY_TABLE,))[CITY_TABLE].frame)
    _print_table(city, f"{city.caption} (mart.coverage_city_year)")


def _print_table(text_table, title: str) -> None:
    """A report table (cakupan.report.tables.Table) on the terminal, then its note."""
    table = Table(title=title)
    for index, (heading, kind) in enumerate(zip(text_table.headers, text_table.header_kinds)):
        # values and words whole; headings wrap between words
        widest = max([len(row[index].text) for row in text_table.rows] + [len(word) for word in heading.split()])
        table.add_column(heading, justify="left" if kind == "text" else "right", min_width=widest)
    for row in text_table.rows:
        table.add_row(*(Text(cell.text) for cell in row))
    console.print(table)
    if text_table.note:
        console.print(Text(text_table.note), soft_wrap=True)


@app.command(epilog=KEY_HELP)
def nightly(
    as_of: Annotated[Optional[str], typer.Option("--as-of", metavar="DATE", help="Load files dated up to this day, YYYY-MM-DD (default: today, Asia/Jakarta).")] = None,
    landing: LandingOption = Path(config.DEFAULT_LANDING),
    warehouse: WarehouseOption = Path(config.DEFAULT_WAREHOUSE),
    workers: WorkersOption = None,
    dask_address: DaskAddressOption = None,
    debug: DebugOption = False,
) -> None:
    """Load every new or changed file dated on or before --as-of, rebuild the tables, write the report."""
    day = _parse_date(as_of, "--as-of")
    require_landing(landing)

    def body() -> None:
        require_pii_key(warehouse)

        def nightly_run():
            from cakupan.flows.nightly import nightly as nightly_flow

            return nightly_flow(as_of=day, landing=str(landing), warehouse=str(warehouse), workers=workers,
                                dask_address=dask_address, return_state=True)

        run_flow(nightly_run, dask_address, workers)

    guarded(body, debug)


@app.command(epilog=KEY_HELP)
def backfill(
    start: Annotated[str, typer.Option("--start", metavar="DATE", help="First extract date (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--end", metavar="DATE", help="Last extract date (YYYY-MM-DD).")],
    resume: Annotated[bool, typer.Option("--resume", help="Continue the last failed backfill over this range.")] = False,
    landing: LandingOption = Path(config.DEFAULT_LANDING),
    warehouse: WarehouseOption = Path(config.DEFAULT_WAREHOUSE),
    workers: WorkersOption = None,
    dask_address: DaskAddressOption = None,
    debug: DebugOption = False,
) -> None:
    """Reload every file dated from --start to --end with the current rules, then rebuild."""
    first, last = _parse_date(start, "--start"), _parse_date(end, "--end")
    _check_date_order(first, last, as_written=(start, end))
    require_landing(landing)

    def body() -> None:
        require_pii_key(warehouse)

        def backfill_run():
            from cakupan.flows.backfill import backfill as backfill_flow

            return backfill_flow(start=first, end=last, resume=resume, landing=str(landing), warehouse=str(warehouse),
                                 workers=workers, dask_address=dask_address, return_state=True)

        run_flow(backfill_run, dask_address, workers)

    guarded(body, debug)


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="Folder to write the extracts into.")],
    start: Annotated[str, typer.Option("--start", metavar="DATE", help="First extract date, YYYY-MM-DD.")] = "2020-01-01",
    end: Annotated[Optional[str], typer.Option("--end", metavar="DATE", help="Last extract date, YYYY-MM-DD (default: yesterday).")] = None,
    scale: Annotated[float, typer.Option("--scale", metavar="N", min=0.001, help="Size of the city: 1 = Kota Malang; 30 = about a province.")] = 1.0,
    seed: Annotated[int, typer.Option("--seed", metavar="N", min=0, help="Seed of the random generator: the same seed, the same files.")] = 0,
    faults: Annotated[float, typer.Option("--faults", metavar="RATE", min=0.0, max=1.0, help="Share of bad rows to inject, 0 to 1 (0.01: about 1% bad rows and some bad files).")] = 0.0,
    debug: DebugOption = False,
) -> None:
    """Write synthetic extracts shaped like the real ones."""
    first = _parse_date(start, "--start")
    last = _parse_date(end, "--end") or config.today_jakarta() - timedelta(days=1)
    _check_date_order(first, last)

    def body() -> None:
        from cakupan.generator import generate as write_extracts

        step(f"generating extracts {first} to {last}: simulating the city's history")
        summary = write_extracts(out, first, last, scale=scale, seed=seed, faults=faults,
                                 progress=day_progress(), reference=config.generator_reference())
        console.print(f"wrote {summary.files_written:,} files to {out}")

    guarded(body, debug)


@app.command()
def report(
    out: Annotated[Optional[Path], typer.Option("--out", metavar="DIR", help="Folder for the report (default: beside the warehouse; with --as-of, report/as-of-DATE there).")] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", metavar="DATE", help="The report as published by the latest publication as of this day or before (from history).")] = None,
    warehouse: WarehouseOption = Path(config.DEFAULT_WAREHOUSE),
    debug: DebugOption = False,
) -> None:
    """Write the coverage report (HTML, PNG, Parquet, CSV) from the current warehouse."""
    day = _parse_date(as_of, "--as-of")
    if not warehouse.is_file():
        raise typer.BadParameter(f"file {str(warehouse)!r} does not exist", param_hint="--warehouse")

    def body() -> None:
        from cakupan.report.writer import write_report
        from cakupan.warehouse.connection import connect

        # an earlier report goes beside the current one, never over it
        out_dir = out or (config.report_dir(warehouse) / f"as-of-{day}" if day else config.report_dir(warehouse))
        thresholds, memory_limit = config.freshness_thresholds(), config.duckdb_memory_limit()  # before any work
        with connect(warehouse, read_only=True, memory_limit=memory_limit) as con:
            try:
                write_report(con, out_dir, as_published_on=day, thresholds=thresholds, memory_limit=memory_limit)
            except NothingPublished as nothing:
                raise Stop(f"{warehouse}: {nothing}", EXIT_USAGE) from None
        console.print(f"report written to {out_dir / 'index.html'}")

    guarded(body, debug)


@app.command()
def explain(
    year: Annotated[int, typer.Option("--year", metavar="Y", help="The year whose published figures moved.")],
    from_: Annotated[Optional[str], typer.Option("--from", metavar="P0", help="The earlier publication: a run id, or a date (the latest publication as of it or before). Default: the one before --to with a different as_of.")] = None,
    to: Annotated[Optional[str], typer.Option("--to", metavar="P1", help="The later publication, likewise. Default: the latest.")] = None,
    by: Annotated[Optional[str], typer.Option("--by", metavar="LEVEL", help="Only this level: city, sector or district (default: all three).")] = None,
    output: Annotated[str, typer.Option("--format", metavar="FORMAT", help="table (the terminal), csv or json.")] = "table",
    warehouse: WarehouseOption = Path(config.DEFAULT_WAREHOUSE),
    debug: DebugOption = False,
) -> None:
    """Why a published figure of a year moved between two publications: P0 + corrected + late +
    backdated + new_period = P1 per row, and the files behind each effect."""
    from cakupan.transforms.explain import LEVELS

    if by is not None and by not in LEVELS:
        raise typer.BadParameter(f"{by!r} is not one of {', '.join(LEVELS)}", param_hint="--by")
    if output not in ("table", "csv", "json"):
        raise typer.BadParameter(f"{output!r} is not one of table, csv, json", param_hint="--format")
    if not warehouse.is_file():
        raise typer.BadParameter(f"file {str(warehouse)!r} does not exist", param_hint="--warehouse")

    def body() -> None:
        from cakupan.report import explanation as shown
        from cakupan.transforms.explain import explain as explain_change
        from cakupan.warehouse.connection import connect
        from cakupan.warehouse.publications import (
            find_publication, latest_publication, previous_with_other_as_of,
        )

        memory_limit = config.duckdb_memory_limit()
        with connect(warehouse, read_only=True, memory_limit=memory_limit) as con:
            try:
                p1 = find_publication(con, to) if to else latest_publication(con)
                if p1 is None:
                    raise NothingPublished("nothing has been published yet")
                p0 = find_publication(con, from_) if from_ else previous_with_other_as_of(con, p1)
                if p0 is None:
                    raise NothingPublished(f"no publication before {p1.run_id} has another as_of than {p1.as_of}: give --from")
                step(f"explaining {year}: {p0.run_id} (as of {p0.as_of}) to {p1.run_id} (as of {p1.as_of})")
                explained = explain_change(con, year, p0, p1, (by,) if by else LEVELS, memory_limit=memory_limit)
            except (NothingPublished, ExplainError) as problem:
                raise Stop(f"{warehouse}: {problem}", EXIT_USAGE) from None
        if output == "csv":
            sys.stdout.write(shown.bridge_csv(explained))
        elif output == "json":
            sys.stdout.write(shown.bridge_json(explained))
        else:
            bridge = shown.bridge_table(explained)
            _print_table(bridge, bridge.caption)
            for line in shown.rate_input_lines(explained):
                console.print(Text(line), soft_wrap=True)
            if not explained.unknown:
                files = shown.files_table(explained)
                _print_table(files, files.caption)
        if explained.unknown and output != "table":
            errors.print(Text(f"note: {explained.unknown}"), soft_wrap=True)
        for problem in explained.problems:
            errors.print(Text(f"error: {problem}"), soft_wrap=True)
        if explained.problems:
            raise typer.Exit(EXIT_FAILED)

    guarded(body, debug)


@app.command(epilog=(
    "Environment: PREFECT_API_URL (required), the API of a running Prefect server, e.g. "
    "http://127.0.0.1:4200/api, or set in a Prefect profile (`prefect config set`); CAKUPAN_PII_KEY (required by every run it serves). Point the Prefect "
    "UI at the same API with PREFECT_SERVER_UI_API_URL when the server runs on another host or port (see README)."
))
def serve(
    landing: LandingOption = Path(config.DEFAULT_LANDING),
    warehouse: WarehouseOption = Path(config.DEFAULT_WAREHOUSE),
    debug: DebugOption = False,
) -> None:
    """Register and serve the deployments: nightly at 02:00 Asia/Jakarta, backfill on demand."""
    config.quiet_prefect()  # before Prefect's settings are first read
    problems = serve_problems(landing, warehouse)
    for problem in problems:
        errors.print(f"[red]error:[/red] {escape(problem)}", highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(EXIT_USAGE)

    def body() -> None:
        from cakupan.flows.deployments import serve as serve_deployments

        serve_deployments(
            str(landing.resolve()), str(warehouse.resolve()),
            announce=lambda line: console.print(line, markup=False, highlight=False),
        )

    guarded(body, debug)


@app.command(epilog=(
    "Environment: none required. CAKUPAN_PII_KEY is not read: the demo hashes NIK and KPJ with a fixed "
    "demo key and says so (never use it for real data). Without PREFECT_API_URL, Prefect runs embedded."
))
def demo(
    landing: LandingOption = Path(config.DEFAULT_LANDING),
    warehouse: WarehouseOption = Path(config.DEFAULT_WAREHOUSE),
    scale: Annotated[float, typer.Option("--scale", metavar="N", min=0.001, help="Size of the generated city: 1 = Kota Malang.")] = 1.0,
    workers: WorkersOption = None,
    dask_address: DaskAddressOption = None,
    debug: DebugOption = False,
) -> None:
    """Generate a Kota Malang landing (2020-01-01 to yesterday), backfill it, report, print the city table."""

    def body() -> None:
        from cakupan.generator import generate as write_extracts

        check_settings(workers, dask_address)  # before the landing is generated
        os.environ[config.PII_KEY_ENV] = config.DEMO_PII_KEY
        console.print("[yellow]demo:[/yellow] using the fixed demo key for NIK/KPJ hashing (never for real data)")
        first, last = date(2020, 1, 1), config.today_jakarta() - timedelta(days=1)
        console.print(f"generating daily extracts {first} to {last} into {landing} ...")
        step(f"generating extracts {first} to {last}: simulating the city's history")
        summary = write_extracts(landing, first, last, scale=scale, seed=0,
                                 progress=day_progress(), reference=config.generator_reference())
        console.print(f"wrote {summary.files_written:,} files; backfilling into {warehouse} ...")

        def backfill_run():
            from cakupan.flows.backfill import backfill as backfill_flow

            return backfill_flow(start=first, end=last, landing=str(landing), warehouse=str(warehouse),
                                 workers=workers, dask_address=dask_address, return_state=True)

        run_flow(backfill_run, dask_address, workers)
        _print_city_table(warehouse)
        console.print(f"report: {config.report_dir(warehouse) / 'index.html'}")

    guarded(body, debug)
