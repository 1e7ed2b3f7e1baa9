"""What the tests share beyond fixtures: the one test key, the real `cakupan` command with the
tests' environment, and the identifiers of the extract rows the tests build."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from cakupan.warehouse.pii import KEY_VARIABLE, PiiKey

CAKUPAN = str(Path(sys.executable).with_name("cakupan"))
PREFECT = str(Path(sys.executable).with_name("prefect"))

# The one key of the tests (32 bytes or more, as an operator makes one): in-process runs hash
# with TEST_KEY, the command and its workers get TEST_SECRET in their environment.
TEST_SECRET = "cakupan test key, 32 bytes or more"
TEST_KEY = PiiKey(TEST_SECRET.encode("utf-8"))


class Command:
    """The real `cakupan` executable in a subprocess, with the test key in its environment and,
    given a Prefect API URL, recording to that server (`embedded=True`: its own temporary one).

    `env` entries set to None are removed from the command's environment."""

    def __init__(self, api_url: str | None = None):
        self.api_url = api_url

    def env(self, env: dict | None = None, embedded: bool = False) -> dict[str, str]:
        merged = {**os.environ, KEY_VARIABLE: TEST_SECRET,
                  "PREFECT_API_URL": None if embedded else self.api_url, **(env or {})}
        return {name: value for name, value in merged.items() if value is not None}

    def __call__(self, *args, env: dict | None = None, embedded: bool = False, timeout: float = 300,
                 **popen) -> subprocess.CompletedProcess:
        """Run the command to its end; its output as text."""
        return subprocess.run([CAKUPAN, *map(str, args)], env=self.env(env, embedded), capture_output=True,
                              text=True, timeout=timeout, **popen)

    def start(self, *args, env: dict | None = None, embedded: bool = False, **popen) -> subprocess.Popen:
        """Start the command and return at once (Popen options as given)."""
        return subprocess.Popen([CAKUPAN, *map(str, args)], env=self.env(env, embedded), **popen)


def nik(n: int) -> str:
    """A well-formed Kota Malang NIK (3573...), distinct per n."""
    return f"3573014501{n:06d}"


def kpj(n: int) -> str:
    """A KPJ (11 digits), distinct per n."""
    return f"{n:011d}"


def employer_row(npp_number: str = "10000001", **fields) -> dict:
    """An employer row as an extract holds it, with valid defaults: a KECIL manufacturer in
    KLOJEN. `updated_at` None is the morning of the extract's date (filled when written)."""
    return {
        "npp": npp_number, "name": f"PT Contoh {npp_number.lstrip('0')}", "kbli": "10110", "district": "KLOJEN",
        "size_class": "KECIL", "reported_workers": 10, "registered_on": "2020-01-01", "status": "AKTIF",
        "updated_at": None,
    } | fields


def enrolment_row(kpj_number: str = kpj(1), nik_number: str = nik(1), segment: str = "PU", **fields) -> dict:
    """A membership account row as an extract holds it (raw kpj and nik), valid for its segment:
    a wage earner (PU, JAKON) of employer 10000001 or a self-employed trader, active since
    2024-01-01, NONAKTIF when it has an end_date. `updated_at` None as in `employer_row`."""
    wage_earner = segment in ("PU", "JAKON")
    row = {
        "kpj": kpj_number, "nik": nik_number, "npp": "10000001" if wage_earner else None, "segment": segment,
        "kbli": None if wage_earner else "47111", "district": "KLOJEN",
        "programs": "JKK|JKM|JHT|JP" if wage_earner else "JKK|JKM", "wage": 4_000_000,
        "contribution_source": "EMPLOYER" if wage_earner else "SELF", "start_date": "2024-01-01",
        "end_date": None, "status": "AKTIF", "updated_at": None,
    } | fields
    if "status" not in fields and row["end_date"] is not None:
        row["status"] = "NONAKTIF"
    return row


def _processes(matching) -> list[int]:
    """The pids in /proc whose stat fields after the command name (state, parent, group,
    session, ...) are `matching`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if matching(fields):
            found.append(int(stat.parent.name))
    return found


def child_processes(pid: int) -> list[int]:
    """The processes whose parent is `pid`."""
    return _processes(lambda fields: int(fields[1]) == pid)


def session_processes(session: int) -> list[int]:
    """Live processes of a session (a run started with start_new_session: its id is the run's pid)."""
    return _processes(lambda fields: int(fields[3]) == session and fields[0] != "Z")


def descendant_processes(pid: int) -> list[int]:
    """The children of `pid`, theirs, and so on."""
    found, pending = [], child_processes(pid)
    while pending:
        found.append(pending.pop())
        pending.extend(child_processes(found[-1]))
    return found


def worker_processes(run: int) -> list[int]:
    """A command's local worker processes: children of the forkserver it started."""
    def command_line(pid: int) -> bytes:
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return b""

    servers = [pid for pid in child_processes(run) if b"multiprocessing.forkserver" in command_line(pid)]
    return [worker for server in servers for worker in child_processes(server)]


def module_from_file(name: str, path: Path):
    """A module loaded from a file outside the packages (benchmarks/ is a folder of scripts)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
