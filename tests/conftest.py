"""Shared fixtures: a temporary landing of extract CSV files, valid rows, a test key."""

from __future__ import annotations

import csv
import gzip
import io
import re
from pathlib import Path

import pandas as pd
import pytest

from cakupan.flows.tasks.read import SPEC_COLUMNS
from cakupan.warehouse.pii import KEY_VARIABLE, PiiKey

TEST_SECRET = "cakupan ingest test key"


def nik_of(n: int) -> str:
    """A well-formed Kota Malang NIK (3573...), distinct per n."""
    return f"3573014501{n:06d}"


def kpj_of(n: int) -> str:
    return f"0{n:010d}"


@pytest.fixture
def employer():
    """An employer row (as text, as in an extract) with valid defaults."""

    def make(n: int = 1, **fields: str) -> dict[str, str]:
        return {
            "npp": f"{n:08d}", "name": f"PT Contoh {n}", "kbli": "01111",
            "district": "KLOJEN", "size_class": "KECIL", "reported_workers": "12",
            "registered_on": "2020-01-02", "status": "AKTIF",
            "updated_at": "2024-12-30 10:00:00", **fields,
        }

    return make


@pytest.fixture
def enrolment():
    """An enrolment row (raw nik and kpj, as in an extract) with valid defaults."""

    def make(n: int = 1, **fields: str) -> dict[str, str]:
        return {
            "kpj": kpj_of(n), "nik": nik_of(n), "npp": "00000001", "segment": "PU",
            "kbli": "", "district": "KLOJEN", "programs": "JKK|JKM|JHT|JP",
            "wage": "3500000", "contribution_source": "EMPLOYER",
            "start_date": "2021-03-01", "end_date": "", "status": "AKTIF",
            "updated_at": "2024-12-30 10:00:00", **fields,
        }

    return make


@pytest.fixture
def tmp_landing(tmp_path) -> Path:
    """An empty landing folder (named apart from the flows' generated `landing`)."""
    folder = tmp_path / "landing"
    folder.mkdir()
    return folder


@pytest.fixture
def write_extract(tmp_landing):
    """Write an extract file into the landing: rows as dicts (by header) or lists (raw fields).

    `newline`, `bom` and a `.gz` name shape the bytes; `header` defaults to the spec columns.
    """

    def write(
        name: str,
        rows=(),
        *,
        header: list[str] | None = None,
        newline: str = "\n",
        bom: bool = False,
    ) -> Path:
        kind = name.split("_", 1)[0]
        header = list(header or SPEC_COLUMNS[kind])
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator=newline)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(column, "") for column in header] if isinstance(row, dict) else row)
        content = (("\ufeff" if bom else "") + buffer.getvalue()).encode("utf-8")
        if name.endswith(".gz"):
            content = gzip.compress(content)
        path = tmp_landing / name
        path.write_bytes(content)
        return path

    return write


@pytest.fixture
def ingest_key(monkeypatch) -> PiiKey:
    """The key, also set in the environment as a run gets it."""
    monkeypatch.setenv(KEY_VARIABLE, TEST_SECRET)
    return PiiKey(TEST_SECRET.encode("utf-8"))


def _failing(frame: pd.DataFrame, column: str, length: int, required: bool) -> set[int]:
    pattern = re.compile(rf"\d{{{length}}}")
    return {
        index
        for index, value in frame[column].items()
        if (required if pd.isna(value) else not pattern.fullmatch(value))
    }


@pytest.fixture
def simple_validate():
    """Stands in for validate_rows: npp 8 digits (required for employers), nik 16."""

    def validate(kind: str, frame: pd.DataFrame) -> dict[int, list[str]]:
        assert list(frame.columns) == [*SPEC_COLUMNS[kind], "_file", "_extract_date"]
        failures: dict[int, list[str]] = {}
        checks = [("npp", 8, kind == "employers", "npp_format")]
        if kind == "enrolments":
            checks.append(("nik", 16, True, "nik_format"))
        for column, length, required, rule in checks:
            for index in _failing(frame, column, length, required):
                failures.setdefault(index, []).append(rule)
        return failures

    return validate
