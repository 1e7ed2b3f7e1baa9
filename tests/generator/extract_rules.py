"""An independent reading of the extract interface (docs: extracts.md), for the generator's
tests: it shares no code with the generator, so the generator cannot grade itself."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

NAME = re.compile(r"^(employers|enrolments)_(\d{8})\.csv(\.gz)?$")
DISTRICTS = {"BLIMBING", "KEDUNGKANDANG", "KLOJEN", "LOWOKWARU", "SUKUN"}
MISSING_DIVISIONS = {"00", "04", "34", "40", "44", "48", "54", "57", "67", "76", "83", "89"}
PROGRAMS = {"JKK", "JKM", "JHT", "JP", "JKP"}
COLUMNS = {
    "employers": ("npp", "name", "kbli", "district", "size_class", "reported_workers", "registered_on", "status", "updated_at"),
    "enrolments": (
        "kpj", "nik", "npp", "segment", "kbli", "district", "programs", "wage",
        "contribution_source", "start_date", "end_date", "status", "updated_at",
    ),
}
KEYS = {"employers": "npp", "enrolments": "kpj"}


def _date(text: str) -> date | None:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _timestamp(text: str) -> datetime | None:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", text):
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


def _digits(text: str, count: int) -> bool:
    return bool(re.fullmatch(rf"\d{{{count}}}", text))


def _kbli_ok(text: str) -> bool:
    return _digits(text, 5) and text[:2] not in MISSING_DIVISIONS


def _integer(text: str) -> int | None:
    return int(text) if re.fullmatch(r"-?\d+", text) else None


def nik_ok(nik: str) -> bool:
    if not _digits(nik, 16):
        return False
    day, month = int(nik[6:8]), int(nik[8:10])
    return (1 <= day <= 31 or 41 <= day <= 71) and 1 <= month <= 12


def employer_rules(row: dict[str, str], extract: date) -> list[str]:
    broken = []
    if not _digits(row["npp"], 8):
        broken.append("npp")
    if not row["name"]:
        broken.append("name")
    if not _kbli_ok(row["kbli"]):
        broken.append("kbli")
    if row["district"] not in DISTRICTS:
        broken.append("district")
    if row["size_class"] not in {"MIKRO", "KECIL", "MENENGAH", "BESAR"}:
        broken.append("size_class")
    workers = _integer(row["reported_workers"])
    if workers is None or workers < 0:
        broken.append("reported_workers")
    registered = _date(row["registered_on"])
    if registered is None or registered > extract:
        broken.append("registered_on")
    if row["status"] not in {"AKTIF", "NONAKTIF", "TUTUP"}:
        broken.append("status")
    updated = _timestamp(row["updated_at"])
    if updated is None or updated.date() > extract:
        broken.append("updated_at")
    return broken


def enrolment_rules(row: dict[str, str], extract: date) -> list[str]:
    broken = []
    if not _digits(row["kpj"], 11):
        broken.append("kpj")
    if not nik_ok(row["nik"]):
        broken.append("nik")
    segment = row["segment"]
    if segment not in {"PU", "BPU", "JAKON"}:
        broken.append("segment")
    if segment == "BPU":
        if row["npp"]:
            broken.append("npp")
    elif not _digits(row["npp"], 8):
        broken.append("npp")
    if row["kbli"] and not _kbli_ok(row["kbli"]):
        broken.append("kbli")
    if segment == "BPU" and not row["kbli"]:
        broken.append("kbli_required")
    if row["district"] not in DISTRICTS:
        broken.append("district")
    programs = row["programs"].split("|")
    if (
        not set(programs) <= PROGRAMS
        or len(programs) != len(set(programs))
        or not {"JKK", "JKM"} <= set(programs)
        or (segment == "BPU" and {"JP", "JKP"} & set(programs))
    ):
        broken.append("programs")
    wage = _integer(row["wage"])
    if wage is None or wage < 0:
        broken.append("wage")
    source = row["contribution_source"]
    if (segment in {"PU", "JAKON"} and source != "EMPLOYER") or (segment == "BPU" and source not in {"SELF", "APBD"}):
        broken.append("contribution_source")
    start = _date(row["start_date"])
    if start is None or start > extract:
        broken.append("start_date")
    end = _date(row["end_date"]) if row["end_date"] else None
    if row["end_date"] and (end is None or (start is not None and end < start)):
        broken.append("end_date")
    status = row["status"]
    if status not in {"AKTIF", "NONAKTIF", "BATAL"} or (status == "AKTIF" and row["end_date"]) or (
        status == "NONAKTIF" and not row["end_date"]
    ):
        broken.append("status")
    updated = _timestamp(row["updated_at"])
    if updated is None or updated.date() > extract:
        broken.append("updated_at")
    return broken


@dataclass
class CheckedFile:
    path: Path
    kind: str = ""
    extract: date | None = None
    problem: str | None = None  # why the whole file would be rejected
    rows: list[dict[str, str]] = field(default_factory=list)  # every data row with the right field count
    bad_rows: dict[int, list[str]] = field(default_factory=dict)  # row number (1 = first) -> broken rules
    data_rows: int = 0


def check_file(path: Path) -> CheckedFile:
    checked = CheckedFile(path)
    match = NAME.match(path.name)
    if not match:
        checked.problem = "name"
        return checked
    checked.kind = match.group(1)
    try:
        checked.extract = datetime.strptime(match.group(2), "%Y%m%d").date()
    except ValueError:
        checked.problem = "name_date"
        return checked
    if match.group(3):
        checked.problem = "compressed"  # the generator writes .gz only as a twin of a bad day
        return checked
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        checked.problem = "encoding"
        return checked
    records = list(csv.reader(io.StringIO(text, newline="")))
    header = records[0] if records else []
    if header != [name.lower() for name in header] or set(COLUMNS[checked.kind]) - set(header):
        checked.problem = "header"
        return checked
    rules = employer_rules if checked.kind == "employers" else enrolment_rules
    by_key: dict[str, list[int]] = defaultdict(list)
    for number, values in enumerate(records[1:], start=1):
        checked.data_rows += 1
        if len(values) != len(header):
            checked.bad_rows[number] = ["field_count"]
            continue
        row = dict(zip(header, values))
        checked.rows.append(row)
        broken = rules(row, checked.extract)
        if broken:
            checked.bad_rows[number] = broken
        by_key[row[KEYS[checked.kind]]].append(number)
    for numbers in by_key.values():
        if len(numbers) > 1:
            distinct = {tuple(records[n]) for n in numbers}
            if len(distinct) > 1:
                for n in numbers:
                    checked.bad_rows.setdefault(n, []).append("conflicting_duplicate")
    return checked


def check_landing(folder: Path) -> list[CheckedFile]:
    return [check_file(path) for path in sorted(folder.iterdir())]


def current_versions(files: list[CheckedFile], kind: str) -> dict[str, dict[str, str]]:
    """Each record's current version: latest updated_at, then the later extract (extracts.md)."""
    current: dict[str, tuple[tuple[str, date], dict[str, str]]] = {}
    for checked in files:
        if checked.kind != kind or checked.problem:
            continue
        for row in checked.rows:
            order = (row["updated_at"], checked.extract)
            key = row[KEYS[kind]]
            if key not in current or order >= current[key][0]:
                current[key] = (order, {**row, "_extract": checked.extract.isoformat()})
    return {key: row for key, (_, row) in current.items()}


def active_on(account: dict[str, str], day: date) -> bool:
    return (
        account["status"] != "BATAL"
        and date.fromisoformat(account["start_date"]) <= day
        and (not account["end_date"] or date.fromisoformat(account["end_date"]) > day)
    )
