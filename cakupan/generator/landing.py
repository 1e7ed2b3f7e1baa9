"""Writing the landing: rows as CSV text, the initial load streamed, one delta per day."""

from __future__ import annotations

import os
from datetime import date, datetime, time
from pathlib import Path

import numpy as np

from cakupan.config import JAKARTA
from cakupan.generator.accounts import PROGRAMS, SEGMENTS, SOURCES
from cakupan.generator.days import DayText
from cakupan.generator.employers import EMPLOYER_STATUSES, SIZE_CLASS_FLOORS, SIZE_CLASSES
from cakupan.generator.faults import FILE_FAULTS, corrupt_rows, write_bad_file
from cakupan.ingest.extracts import KINDS, SPEC_COLUMNS

OFFICE_OPENS = 7 * 3600 + 30 * 60
OFFICE_SECONDS = 13 * 3600  # changes are entered 07:30-20:30
_FAULT_STREAM = {"employers": 1, "enrolments": 2}
INITIAL_PART_ROWS = 200_000
# BPJS copies the day's extracts in the evening: each file's modification time is that night,
# so a landing generated just before a run is settled (CAKUPAN_SETTLE_SECONDS) like a real one.
DELIVERED_AT = time(22)


def _text(values: np.ndarray) -> np.ndarray:
    return values.astype(str).astype(object)


def _code_text(values: np.ndarray, digits: int) -> np.ndarray:
    """Zero-padded codes; 0 means none (an empty field)."""
    # 10**digits + value has one leading "1" before the zero-padded code: drop that character.
    padded = (values.astype(np.int64) + 10**digits).astype(f"U{digits + 1}")
    text = np.ascontiguousarray(padded.view("U1").reshape(-1, digits + 1)[:, 1:]).view(f"U{digits}").ravel()
    return np.where(values > 0, text.astype(object), "")


def _office_second(keys: np.ndarray, salt: np.ndarray) -> np.ndarray:
    """A stable time of day for a change, spread over office hours."""
    mixed = keys.astype(np.uint64) * np.uint64(2_654_435_761) + salt.astype(np.uint64) * np.uint64(40_503)
    return (mixed % np.uint64(OFFICE_SECONDS)).astype(np.int64) + OFFICE_OPENS


def _join_columns(columns: list[np.ndarray]) -> np.ndarray:
    line = columns[0]
    for column in columns[1:]:
        line = line + "," + column
    return line


def enrolment_lines(rows: dict[str, np.ndarray], days: DayText, district_names: np.ndarray) -> np.ndarray:
    version = rows["version"]
    closing = version == 2
    void = rows["void"]
    status = np.where(closing, np.where(void, "BATAL", "NONAKTIF"), "AKTIF").astype(object)
    ended = closing & ~void
    end_date = np.full(len(version), "", dtype=object)
    end_date[ended] = days.date(rows["end"][ended])
    wage = np.where(version == 0, rows["wage"], rows["changed_wage"])
    return _join_columns([
        _text(rows["kpj"]),
        _text(rows["nik"]),
        _code_text(rows["npp"], 8),
        SEGMENTS[rows["segment"]],
        _code_text(rows["kbli"], 5),
        district_names[rows["district"]],
        PROGRAMS[rows["programs"]],
        _text(wage),
        SOURCES[rows["source"]],
        days.date(rows["start"]),
        end_date,
        status,
        days.timestamp(rows["report"], _office_second(rows["kpj"], rows["report"])),
    ])


def employer_lines(rows: dict[str, np.ndarray], days: DayText, district_names: np.ndarray) -> np.ndarray:
    workers = rows["reported_workers"]
    return _join_columns([
        _text(rows["npp"]),
        rows["name"],
        _code_text(rows["kbli"], 5),
        district_names[rows["district"]],
        SIZE_CLASSES[np.searchsorted(SIZE_CLASS_FLOORS, workers, side="right")],
        _text(workers),
        days.date(rows["registered"]),
        EMPLOYER_STATUSES[rows["status"]],
        days.timestamp(rows["reported"], _office_second(rows["npp"], rows["reported"])),
    ])


class Landing:
    """Files of one landing folder; counts what it wrote."""

    def __init__(
        self, out_dir: Path, days: DayText, district_names: np.ndarray, start: int, end: int, seed: int, faults: float
    ) -> None:
        self.out_dir = out_dir
        self.days = days
        self.district_names = district_names
        self.start = start
        self.end = end
        self.seed = seed
        self.faults = faults
        self.next_day = start + 1
        self.rows = dict.fromkeys(KINDS, 0)
        self.files_written = 0
        self.header_only_files = 0
        self.bad_rows = 0
        self.bad_files: list[str] = []
        self.initial_employers: list[dict[str, np.ndarray]] = []
        self.initial_parts = 0
        self.initial_enrolments = self._path("enrolments", start).open("w", encoding="utf-8", newline="")
        self.initial_enrolments.write(",".join(SPEC_COLUMNS["enrolments"]) + "\n")

    def _path(self, kind: str, day: int) -> Path:
        return self.out_dir / f"{kind}_{self.days.date(np.array([day]))[0].replace('-', '')}.csv"

    def _fault_rng(self, kind: str, day: int, part: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, day, part, _FAULT_STREAM[kind]])

    def _extract_date(self, day: int) -> str:
        return self.days.date(np.array([day]))[0]

    @property
    def _start_date(self) -> str:
        return self._extract_date(self.start)

    @property
    def initial_written(self) -> bool:
        return self.initial_enrolments is None

    def take(self, accounts: dict[str, np.ndarray], employers: dict[str, np.ndarray], through: int) -> None:
        """Rows reported up to `through`: into the initial load or the day's delta."""
        accounts = _sorted(accounts, "report", "kpj")
        employers = _sorted(employers, "reported", "npp")
        if not self.initial_written:
            self._take_initial(accounts, employers)
            if through >= self.start:
                self._finish_initial()
        last = min(through, self.end)
        day_edges = np.arange(self.next_day, last + 2)
        account_days = np.searchsorted(accounts["report"], day_edges)
        employer_days = np.searchsorted(employers["reported"], day_edges)
        for offset, day in enumerate(range(self.next_day, last + 1)):
            employer_rows = _slice(employers, employer_days[offset], employer_days[offset + 1])
            account_rows = _slice(accounts, account_days[offset], account_days[offset + 1])
            self._write_delta("employers", day, employer_lines(employer_rows, self.days, self.district_names))
            self._write_delta("enrolments", day, enrolment_lines(account_rows, self.days, self.district_names))
        self.next_day = max(self.next_day, last + 1)

    def _take_initial(self, accounts: dict[str, np.ndarray], employers: dict[str, np.ndarray]) -> None:
        known = accounts["report"] <= self.start
        # The initial load holds each account once, in its latest version on the start day.
        not_closed = accounts["closed"] > self.start
        latest = np.select(
            [accounts["version"] == 0, accounts["version"] == 1],
            [(accounts["changed"] > self.start) & not_closed, not_closed],
            True,
        )
        rows = _slice_mask(accounts, known & latest)
        # Text takes far more memory than numbers: render the initial load in parts.
        for begin in range(0, len(rows["kpj"]), INITIAL_PART_ROWS):
            part = _slice(rows, begin, begin + INITIAL_PART_ROWS)
            lines = enrolment_lines(part, self.days, self.district_names).tolist()
            rng = self._fault_rng("enrolments", self.start, self.initial_parts)
            lines, bad = corrupt_rows("enrolments", lines, SPEC_COLUMNS["enrolments"], self._start_date, self.faults, rng)
            self.initial_parts += 1
            self.bad_rows += bad
            self.rows["enrolments"] += len(lines)
            self.initial_enrolments.write("\n".join(lines) + "\n")
        self.initial_employers.append(_slice_mask(employers, employers["reported"] <= self.start))

    def _finish_initial(self) -> None:
        self.initial_enrolments.close()
        self.initial_enrolments = None
        self.files_written += 1
        parts = self.initial_employers
        versions = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
        order = np.lexsort((versions["reported"], versions["employer"]))
        ordered = {name: column[order] for name, column in versions.items()}
        last_of_employer = np.r_[ordered["employer"][1:] != ordered["employer"][:-1], True]
        latest = _sorted(_slice_mask(ordered, last_of_employer), "employer", "npp")
        lines = employer_lines(latest, self.days, self.district_names).tolist()
        rng = self._fault_rng("employers", self.start, 0)
        lines, bad = corrupt_rows("employers", lines, SPEC_COLUMNS["employers"], self._start_date, self.faults, rng)
        self.bad_rows += bad
        self.rows["employers"] += len(lines)
        text = "\n".join([",".join(SPEC_COLUMNS["employers"]), *lines]) + "\n"
        self._path("employers", self.start).write_bytes(text.encode("utf-8"))
        self.files_written += 1
        self.initial_employers = []
        self._delivered([self._path(kind, self.start) for kind in KINDS], self.start)

    def _write_delta(self, kind: str, day: int, lines: np.ndarray) -> None:
        columns = SPEC_COLUMNS[kind]
        header = ",".join(columns)
        path = self._path(kind, day)
        rng = self._fault_rng(kind, day, 0)
        rows, bad = corrupt_rows(kind, lines.tolist(), columns, self._extract_date(day), self.faults, rng)
        if self.faults > 0 and rng.random() < self.faults:
            fault = FILE_FAULTS[rng.integers(len(FILE_FAULTS))]
            written = write_bad_file(path, kind, header, rows, fault, rng)
            self.bad_files.extend(p.name for p in written)
        else:
            body = "\n".join([header, *rows]) + "\n"
            path.write_bytes(body.encode("utf-8"))
            written = [path]
            self.rows[kind] += len(rows)
            self.bad_rows += bad
            self.header_only_files += not rows
        self.files_written += len(written)
        self._delivered(written, day)

    def _delivered(self, paths: list[Path], day: int) -> None:
        night = datetime.combine(date.fromisoformat(self._extract_date(day)), DELIVERED_AT, JAKARTA).timestamp()
        for path in paths:
            os.utime(path, (night, night))


def _sorted(table: dict[str, np.ndarray], first: str, second: str) -> dict[str, np.ndarray]:
    order = np.lexsort((table[second], table[first]))
    return {name: column[order] for name, column in table.items()}


def _slice(table: dict[str, np.ndarray], begin: int, end: int) -> dict[str, np.ndarray]:
    return {name: column[begin:end] for name, column in table.items()}


def _slice_mask(table: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    return {name: column[mask] for name, column in table.items()}
