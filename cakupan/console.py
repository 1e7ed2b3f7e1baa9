"""How a command talks to the person running it: the standard output and error consoles, the
live line on a terminal (cakupan.terminal), Prefect's and the libraries' logging set up
quietly, and any error turned into one line and an exit status."""

from __future__ import annotations

import logging
import os
import sys
from contextlib import nullcontext

import typer
from rich.console import Console
from rich.markup import escape

from cakupan import config
from cakupan.errors import EXIT_FAILED, Stop

# A pipe or a log file gets the whole table rather than 80 columns of ellipses.
console = Console(width=None if sys.stdout.isatty() else 132)
errors = Console(stderr=True, width=None if sys.stderr.isatty() else 132)

# The live line of a command on a terminal (cakupan.terminal), None off a terminal.
_display = None


def step(text: str) -> None:
    """The live line's text, on a terminal."""
    if _display is not None:
        _display.step(text)


def day_progress():
    """What the generator reports each simulated day to: the live line's bar, or None."""
    return _display.days if _display else None


def guarded(body, debug: bool) -> None:
    """Run a command's body with the live line (on a terminal) and its errors as one line each."""
    global _display
    if sys.stderr.isatty():
        from cakupan.terminal import TerminalProgress

        _display = TerminalProgress(errors)
    with _display or nullcontext():
        _run_guarded(body, debug)


def _run_guarded(body, debug: bool) -> None:
    _prepare(debug)
    try:
        body()
    except Stop as stop:
        errors.print(f"[red]error:[/red] {escape(str(stop))}", highlight=False, soft_wrap=True)  # one line, also in a log
        raise typer.Exit(stop.code) from None
    except (typer.Exit, typer.BadParameter, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - the one place that turns surprises into an exit status
        if debug:
            raise
        errors.print(f"[red]error:[/red] {type(exc).__name__}: {escape(str(exc))}", highlight=False, soft_wrap=True)
        errors.print("(run again with --debug for the traceback)", style="dim")
        raise typer.Exit(EXIT_FAILED) from None


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

    from cakupan.flows.compat import print_log_lines_on

    setup_logging()
    prefect_loggers = [name for name in logging.root.manager.loggerDict if name.startswith("prefect")]
    for logger in [logging.getLogger(name) for name in prefect_loggers] + [logging.getLogger()]:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and not debug:
                handler.addFilter(_DropTracebacks())
            if _display is not None and print_log_lines_on(handler, errors):  # above the live line
                handler.addFilter(_display.step_from_log)
    if _display is not None:
        from cakupan import progress

        progress.listen(_display.files)

