"""Realistic bad input, injected on request: rows that break one rule of the extract
interface, and now and then a whole file that the pipeline must reject."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np

Row = dict[str, str]


def _parse(line: str, columns: tuple[str, ...]) -> Row:
    return dict(zip(columns, next(csv.reader([line]))))


def _render(values: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(values)
    return buffer.getvalue()


# Each fault turns one good row into bad lines; rng picks the variant.
def _bad_nik(row: Row, extract_date: str, rng: np.random.Generator) -> list[Row]:
    nik = row["nik"]
    variants = [nik[:15], nik[:6] + "35" + nik[8:], nik[:8] + "13" + nik[10:], nik[:10] + "X" + nik[11:]]
    row["nik"] = variants[rng.integers(len(variants))]  # length, day, month, not a digit
    return [row]


def _bad_kpj(row: Row, extract_date: str, rng: np.random.Generator) -> list[Row]:
    row["kpj"] = row["kpj"][1:]
    return [row]


def _impossible_date(row: Row, extract_date: str, rng: np.random.Generator) -> list[Row]:
    column = "start_date" if "start_date" in row else "registered_on"
    row[column] = row[column][:5] + "02-30"
    return [row]


def _date_after_extract(row: Row, extract_date: str, rng: np.random.Generator) -> list[Row]:
    column = "start_date" if "start_date" in row else "registered_on"
    row[column] = f"{int(extract_date[:4]) + 1}{extract_date[4:]}"
    return [row]


def _npp_against_segment(row: Row, extract_date: str, rng: np.random.Generator) -> list[Row]:
    row["npp"] = "" if row["npp"] else "1" + row["kpj"][-7:]  # PU without, BPU with an employer
    return [row]


def _lowercase_district(row: Row, extract_date: str, rng: np.random.Generator) -> list[Row]:
    row["district"] = row["district"].lower()
    return [row]


def _programs_without_jkk(row: Row, extract_date: str, rng: np.random.Generator) -> list[Row]:
    row["programs"] = row["programs"].replace("JKK|", "")
    return [row]


def _negative_amount(row: Row, extract_date: str, rng: np.random.Generator) -> list[Row]:
    column = "wage" if "wage" in row else "reported_workers"
    row[column] = "-" + row[column]
    return [row]


def _status_against_end(row: Row, extract_date: str, rng: np.random.Generator) -> list[Row]:
    row["status"] = "AKTIF" if row["end_date"] else "NONAKTIF"
    return [row]


def _bad_npp(row: Row, extract_date: str, rng: np.random.Generator) -> list[Row]:
    row["npp"] = row["npp"][:7]
    return [row]


def _invalid_kbli_division(row: Row, extract_date: str, rng: np.random.Generator) -> list[Row]:
    row["kbli"] = ["04", "34", "89", "00"][rng.integers(4)] + (row["kbli"] or "12345")[2:]
    return [row]


def _unknown_size_class(row: Row, extract_date: str, rng: np.random.Generator) -> list[Row]:
    row["size_class"] = ["SEDANG", "kecil", "UMKM"][rng.integers(3)]
    return [row]


def _empty_name(row: Row, extract_date: str, rng: np.random.Generator) -> list[Row]:
    row["name"] = ""
    return [row]


def _conflicting_duplicate(row: Row, extract_date: str, rng: np.random.Generator) -> list[Row]:
    column = "wage" if "wage" in row else "reported_workers"
    twin = dict(row)
    twin[column] = str(int(row[column]) + 1 + int(rng.integers(1000)))
    return [row, twin]


def _wrong_field_count(row: Row, extract_date: str, rng: np.random.Generator) -> list[Row]:
    return [row]  # marked; rendered with a field dropped or added


ROW_FAULTS: dict[str, tuple[Callable, ...]] = {
    "enrolments": (
        _bad_nik, _bad_kpj, _impossible_date, _date_after_extract, _npp_against_segment, _lowercase_district,
        _programs_without_jkk, _negative_amount, _status_against_end, _invalid_kbli_division,
        _conflicting_duplicate, _wrong_field_count,
    ),
    "employers": (
        _bad_npp, _invalid_kbli_division, _impossible_date, _date_after_extract, _lowercase_district,
        _unknown_size_class, _empty_name, _negative_amount, _conflicting_duplicate, _wrong_field_count,
    ),
}


def corrupt_rows(
    kind: str,
    lines: list[str],
    columns: tuple[str, ...],
    extract_date: str,
    rate: float,
    rng: np.random.Generator,
) -> tuple[list[str], int]:
    """Replace about `rate` of the lines by bad ones; returns the lines and the bad-line count."""
    if rate <= 0 or not lines:
        return lines, 0
    chosen = np.flatnonzero(rng.random(len(lines)) < rate)
    if len(chosen) == 0:
        return lines, 0
    faults = ROW_FAULTS[kind]
    replaced: dict[int, list[str]] = {}
    bad = 0
    for position in chosen:
        fault = faults[rng.integers(len(faults))]
        rows = fault(_parse(lines[position], columns), extract_date, rng)
        rendered = [[row[column] for column in columns] for row in rows]
        if fault is _wrong_field_count:
            values = rendered[0]
            rendered[0] = values[:-1] if rng.random() < 0.5 else values + [values[-1]]
        replaced[int(position)] = [_render(values) for values in rendered]
        bad += len(rendered)
    out: list[str] = []
    for position, line in enumerate(lines):
        out.extend(replaced.get(position, [line]))
    return out, bad


FILE_FAULTS = ("missing_column", "compressed_twin", "not_utf8")
REQUIRED_DROPPABLE = {"employers": ("npp", "status", "kbli"), "enrolments": ("nik", "status", "start_date")}


def write_bad_file(
    path: Path, kind: str, header: str, lines: list[str], fault: str, rng: np.random.Generator
) -> list[Path]:
    """Write the day's file spoilt by one file-level fault; returns every path written."""
    if fault == "missing_column":
        columns = header.split(",")
        dropped = columns.index(REQUIRED_DROPPABLE[kind][rng.integers(len(REQUIRED_DROPPABLE[kind]))])
        def without(values: list[str]) -> list[str]:
            return values[:dropped] + values[dropped + 1 :]
        body = [_render(without(next(csv.reader([line])))) for line in lines]
        path.write_bytes(_join(",".join(without(columns)), body).encode("utf-8"))
        return [path]
    if fault == "compressed_twin":
        data = _join(header, lines).encode("utf-8")
        path.write_bytes(data)
        twin = path.with_name(path.name + ".gz")
        twin.write_bytes(gzip.compress(data, mtime=0))
        return [path, twin]
    if fault == "not_utf8":  # an export saved as "Unicode text" (UTF-16) by a spreadsheet
        path.write_bytes(_join(header, lines).encode("utf-16"))
        return [path]
    raise ValueError(f"unknown file fault {fault!r}")


def _join(header: str, lines: list[str]) -> str:
    return "\n".join([header, *lines]) + "\n"
