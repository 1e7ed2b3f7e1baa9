"""The `cakupan` command: the way a person, a cron line or a test drives the flows."""

from __future__ import annotations

import logging
import os
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from cakupan import config

app = typer.Typer(
    name="cakupan",
    help="Coverage of employment social security (BPJS Ketenagakerjaan) in Kota Malang.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# A pipe or a log file gets the whole table rather than 80 columns of ellipses.
console = Console(width=None if sys.stdout.isatty() else 132)
errors = Console(stderr=True, width=None if sys.stderr.isatty() else 132)

EXIT_FAILED = 1
EXIT_USAGE = 2


def _parse_date(value: Optional[str], option: str) -> Optional[date]:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (expected YYYY-MM-DD)", param_hint=option) from None


LandingOption = Annotated[
    Path, typer.Option("--landing", envvar=config.LANDING_ENV, help="Landing folder of the extracts.")
]
WarehouseOption = Annotated[
    Path, typer.Option("--warehouse", envvar=config.WAREHOUSE_ENV, help="The DuckDB warehouse file.")
]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks and library logs.")]


class Stop(Exception):
    """An error already phrased for the user: message, exit code."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def _require_landing(landing: Path) -> None:
    if not landing.is_dir():
        raise typer.BadParameter(f"folder {str(landing)!r} does not exist", param_hint="--landing")


def _require_pii_key(warehouse: Path) -> None:
    """A key is set, and strong enough if it will key a new warehouse (the run checks an old one's)."""
    from cakupan.warehouse.connection import Refused
    from cakupan.warehouse.pii import key_from_env, verify_key

    try:
        key = key_from_env()
        if not warehouse.exists():
            verify_key(key, recorded=[])
    except Refused as problem:
        raise Stop(str(problem), EXIT_USAGE) from None


class _DropTracebacks(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        return True


def _prepare(debug: bool) -> None:
    """Quiet, offline-friendly defaults before Prefect is imported; --debug shows everything."""
    config.owner_only_files()
    if debug:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
    config.quiet_prefect()
    if not debug:
        import warnings

        warnings.filterwarnings("ignore")
        from prefect.logging.configuration import setup_logging

        setup_logging()
        prefect_loggers = [name for name in logging.root.manager.loggerDict if name.startswith("prefect")]
        for logger in [logging.getLogger(name) for name in prefect_loggers] + [logging.getLogger()]:
            for handler in logger.handlers:
                if isinstance(handler, logging.StreamHandler):
                    handler.addFilter(_DropTracebacks())
    if sys.stderr.isatty():
        _show_progress_bar()


def _show_progress_bar() -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from cakupan.flows import progress

    bar = Progress(
        TextColumn("loading files"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(), console=errors, transient=True,
    )
    state: dict = {}

    def update(files_done: int, files_total: int, rows: int, elapsed: float) -> None:
        if "task" not in state:
            bar.start()
            state["task"] = bar.add_task("load", total=files_total, rate="")
        rate = f"{rows / elapsed:,.0f} rows/s" if elapsed > 0 else ""
        bar.update(state["task"], completed=files_done, rate=rate)
        if files_done >= files_total:
            bar.stop()
            state.clear()

    progress.listen(update)


def _run(flow_call, debug: bool) -> None:
    """Run a flow and turn its end into an exit status and one or two lines."""
    from contextlib import ExitStack

    from cakupan.flows.exclusive import prefect_server_configured
    from cakupan.warehouse.connection import Refused

    with ExitStack() as stack:
        if prefect_server_configured():
            from cakupan.flows.deployments import ensure_writer_limit

            ensure_writer_limit()
        else:
            from cakupan.flows.embedded_server import embedded_prefect_server

            try:
                stack.enter_context(embedded_prefect_server())
            except Refused as problem:
                raise Stop(str(problem), EXIT_FAILED) from None
        state = flow_call()
    if state.is_completed():
        return
    message = state.message or "the run failed"
    raise Stop(message.replace("Flow run encountered an exception: ", ""), EXIT_FAILED)


def _guarded(body, debug: bool) -> None:
    _prepare(debug)
    try:
        body()
    except Stop as stop:
        errors.print(f"[red]error:[/red] {stop}", highlight=False)
        raise typer.Exit(stop.code) from None
    except (typer.Exit, typer.BadParameter, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - the one place that turns surprises into an exit status
        if debug:
            raise
        errors.print(f"[red]error:[/red] {type(exc).__name__}: {exc}", highlight=False)
        errors.print("(run again with --debug for the traceback)", style="dim")
        raise typer.Exit(EXIT_FAILED) from None


def _print_city_table(warehouse: Path) -> None:
    from cakupan.warehouse.connection import connect

    with connect(warehouse, read_only=True) as con:
        rows = con.execute(
            """
            select year, ref_date, workforce, workforce_carried_forward, covered, covered_formal,
                   covered_informal, covered_vulnerable, coverage_rate, target_rate, gap_workers, on_track
            from mart.coverage_city_year order by year
            """
        ).fetchall()
    table = Table(title="Kota Malang: coverage by year (mart.coverage_city_year)")
    for heading in ("year", "ref date", "workforce", "covered", "formal", "informal", "vulnerable",
                    "coverage", "target", "gap (workers)", "on track"):
        table.add_column(heading, justify="right")
    for (year, ref_date, workforce, carried, covered, formal, informal, vulnerable, rate, target, gap, on_track) in rows:
        table.add_row(
            str(year), str(ref_date), f"{workforce:,}" + ("*" if carried else ""), f"{covered:,}",
            f"{formal:,}", f"{informal:,}", f"{vulnerable:,}",
            f"{rate:.1%}" if rate is not None else "-", f"{target:.1%}" if target is not None else "-",
            f"{gap:,}" if gap is not None else "-", {True: "yes", False: "no"}.get(on_track, "-"),
        )
    console.print(table)
    if any(r[3] for r in rows):
        console.print("* workforce carried forward from the last published year")


@app.command()
def nightly(
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Load files dated up to this day (default: today, Asia/Jakarta).")] = None,
    landing: LandingOption = Path(config.DEFAULT_LANDING),
    warehouse: WarehouseOption = Path(config.DEFAULT_WAREHOUSE),
    debug: DebugOption = False,
) -> None:
    """Load every new or changed file dated on or before --as-of, rebuild the tables, write the report."""
    day = _parse_date(as_of, "--as-of")
    _require_landing(landing)

    def body() -> None:
        _require_pii_key(warehouse)
        from cakupan.flows.nightly import nightly as nightly_flow

        _run(lambda: nightly_flow(as_of=day, landing=str(landing), warehouse=str(warehouse), return_state=True), debug)

    _guarded(body, debug)


@app.command()
def backfill(
    start: Annotated[str, typer.Option("--start", help="First extract date (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--end", help="Last extract date (YYYY-MM-DD).")],
    resume: Annotated[bool, typer.Option("--resume", help="Continue the last failed backfill over this range.")] = False,
    landing: LandingOption = Path(config.DEFAULT_LANDING),
    warehouse: WarehouseOption = Path(config.DEFAULT_WAREHOUSE),
    debug: DebugOption = False,
) -> None:
    """Reload every file dated from --start to --end with the current rules, then rebuild."""
    first, last = _parse_date(start, "--start"), _parse_date(end, "--end")
    if last < first:
        raise typer.BadParameter(f"{end} is before --start {start}", param_hint="--end")
    _require_landing(landing)

    def body() -> None:
        _require_pii_key(warehouse)
        from cakupan.flows.backfill import backfill as backfill_flow

        _run(
            lambda: backfill_flow(
                start=first, end=last, resume=resume, landing=str(landing), warehouse=str(warehouse),
                return_state=True,
            ),
            debug,
        )

    _guarded(body, debug)


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the extracts into.")],
    start: Annotated[str, typer.Option("--start", help="First extract date.")] = "2020-01-01",
    end: Annotated[Optional[str], typer.Option("--end", help="Last extract date (default: yesterday).")] = None,
    scale: Annotated[float, typer.Option("--scale", min=0.001, help="1 = Kota Malang; 30 = about a province.")] = 1.0,
    seed: Annotated[int, typer.Option("--seed", min=0)] = 0,
    faults: Annotated[float, typer.Option("--faults", min=0.0, max=1.0, help="Share of bad rows to inject.")] = 0.0,
    debug: DebugOption = False,
) -> None:
    """Write synthetic extracts shaped like the real ones."""
    first = _parse_date(start, "--start")
    last = _parse_date(end, "--end") or config.today_jakarta() - timedelta(days=1)
    if last < first:
        raise typer.BadParameter(f"{last} is before --start {first}", param_hint="--end")

    def body() -> None:
        from cakupan.generator import generate as write_extracts

        summary = write_extracts(out, first, last, scale=scale, seed=seed, faults=faults)
        console.print(f"wrote {summary.files_written:,} files to {out}")

    _guarded(body, debug)


@app.command()
def report(
    out: Annotated[Optional[Path], typer.Option("--out", help="Folder for the report (default: beside the warehouse).")] = None,
    warehouse: WarehouseOption = Path(config.DEFAULT_WAREHOUSE),
    debug: DebugOption = False,
) -> None:
    """Write the coverage report (HTML, PNG, Parquet, CSV) from the current warehouse."""
    if not warehouse.is_file():
        raise typer.BadParameter(f"file {str(warehouse)!r} does not exist", param_hint="--warehouse")

    def body() -> None:
        from cakupan.report import write_report
        from cakupan.warehouse.connection import connect

        out_dir = out or config.report_dir(warehouse)
        with connect(warehouse, read_only=True) as con:
            write_report(con, out_dir)
        console.print(f"report written to {out_dir / 'index.html'}")

    _guarded(body, debug)


@app.command()
def serve(
    landing: LandingOption = Path(config.DEFAULT_LANDING),
    warehouse: WarehouseOption = Path(config.DEFAULT_WAREHOUSE),
    debug: DebugOption = False,
) -> None:
    """Register and serve the deployments: nightly at 02:00 Asia/Jakarta, backfill on demand."""
    if not os.environ.get("PREFECT_API_URL"):
        errors.print(
            "[red]error:[/red] cakupan serve needs a Prefect server: start one (`prefect server start`) "
            "and set PREFECT_API_URL (see README)", highlight=False,
        )
        raise typer.Exit(EXIT_USAGE)

    def body() -> None:
        from cakupan.flows.deployments import serve as serve_deployments

        serve_deployments(str(landing.resolve()), str(warehouse.resolve()))

    _guarded(body, debug)


@app.command()
def demo(
    landing: LandingOption = Path(config.DEFAULT_LANDING),
    warehouse: WarehouseOption = Path(config.DEFAULT_WAREHOUSE),
    scale: Annotated[float, typer.Option("--scale", min=0.001, help="Size of the generated city.")] = 1.0,
    debug: DebugOption = False,
) -> None:
    """Generate a Kota Malang landing (2020-01-01 to yesterday), backfill it, report, print the city table."""

    def body() -> None:
        from cakupan.generator import generate as write_extracts

        os.environ["CAKUPAN_PII_KEY"] = config.DEMO_PII_KEY
        console.print("[yellow]demo:[/yellow] using the fixed demo key for NIK/KPJ hashing (never for real data)")
        first, last = date(2020, 1, 1), config.today_jakarta() - timedelta(days=1)
        console.print(f"generating daily extracts {first} to {last} into {landing} ...")
        summary = write_extracts(landing, first, last, scale=scale, seed=0)
        console.print(f"wrote {summary.files_written:,} files; backfilling into {warehouse} ...")
        from cakupan.flows.backfill import backfill as backfill_flow

        _run(
            lambda: backfill_flow(
                start=first, end=last, landing=str(landing), warehouse=str(warehouse), return_state=True
            ),
            debug,
        )
        _print_city_table(warehouse)
        console.print(f"report: {config.report_dir(warehouse) / 'index.html'}")

    _guarded(body, debug)
