"""The report's tables as text cells, defined once and rendered by the page (HTML), the
command (a terminal table) and the run's Prefect artifact alike."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from cakupan.report.formatting import (
    MISSING,
    SUPPRESSED,
    format_date,
    format_number,
    format_percent,
    is_missing,
    is_true,
)
from cakupan.report.suppression import SUPPRESSED_SUFFIX

CARRIED_FORWARD_NOTE = "* angkatan kerja tahun terakhir dibawa dari tahun sebelumnya (carried forward)."


@dataclass(frozen=True)
class Cell:
    text: str
    kind: str = "num"  # num | text | date | suppressed | good | bad
    title: str = ""  # the full form of an abbreviated text (a sector letter's name)


@dataclass(frozen=True)
class Table:
    caption: str
    headers: list[str]
    rows: list[list[Cell]]
    note: str = ""

    @property
    def header_kinds(self) -> list[str]:
        """Each header aligned like its column's cells."""
        if not self.rows:
            return ["text"] * len(self.headers)
        return ["text" if cell.kind in ("text", "date") else "num" for cell in self.rows[0]]

    def records(self) -> list[dict[str, str]]:
        """One mapping of header to text per row (for a Prefect table artifact)."""
        return [{header: cell.text for header, cell in zip(self.headers, row)} for row in self.rows]


def city_table(city: pd.DataFrame) -> Table:
    """mart.coverage_city_year, every year, as Indonesian readers write numbers and dates."""
    rows = [
        [
            Cell(f"{int(row['year'])}" + ("*" if is_true(row["workforce_carried_forward"]) else ""), "text"),
            Cell(format_date(row["ref_date"]), "date"),
            Cell(format_number(row["workforce"])),
            Cell(format_number(row["covered"])),
            Cell(format_number(row["covered_formal"])),
            Cell(format_number(row["covered_informal"])),
            Cell(format_number(row["covered_vulnerable"])),
            Cell(format_percent(row["coverage_rate"])),
            Cell(format_percent(row["target_rate"])),
            Cell(format_number(row["gap_workers"])),
            _on_track(row["on_track"]),
        ]
        for _, row in city.sort_values("year").iterrows()
    ]
    return Table(
        "Kota Malang per tahun",
        ["Tahun", "Tanggal acuan", "Angkatan kerja (workforce)", "Tercakup (covered)", "Formal",
         "Informal", "Rentan (vulnerable)", "Cakupan (coverage)", "Target", "Kesenjangan (gap)",
         "Sesuai target (on track)"],
        rows,
        CARRIED_FORWARD_NOTE if any(is_true(value) for value in city["workforce_carried_forward"]) else "",
    )


def sector_table(sectors: pd.DataFrame, names_en: dict[str, str], year: int) -> Table:
    rows = []
    for _, row in sectors.iterrows():
        name = row["sector_name"] if not is_missing(row["sector_name"]) else ""
        english = names_en.get(row["sector"], "")
        rows.append([
            Cell(f"{row['sector']} {name}" + (f" ({english})" if english else ""), "text"),
            Cell(format_number(row["workforce"])),
            _count(row, "covered"),
            _count(row, "covered_formal"),
            _count(row, "covered_informal"),
            _count(row, "covered_vulnerable"),
            _derived(row, "coverage_rate", "covered", format_percent),
            _derived(row, "formal_coverage_rate", "covered_formal", format_percent),
            Cell(format_percent(row["target_rate"])),
            _derived(row, "gap_workers", "covered", format_number),
        ])
    return Table(
        f"Sektor KBLI {year}",
        ["Sektor", "Angkatan kerja (workforce)", "Tercakup (covered)", "Formal", "Informal",
         "Rentan (vulnerable)", "Cakupan (coverage)", "Cakupan formal", "Target", "Kesenjangan (gap)"],
        rows,
    )


def district_table(districts: pd.DataFrame, year: int) -> Table:
    rows = [
        [
            Cell(row["district"].title(), "text"),
            _count(row, "covered"),
            _count(row, "covered_formal"),
            _count(row, "covered_informal"),
            _count(row, "covered_vulnerable"),
        ]
        for _, row in districts.iterrows()
    ]
    return Table(f"Kecamatan {year}", ["Kecamatan", "Tercakup (covered)", "Formal", "Informal", "Rentan (vulnerable)"], rows)


def employer_table(employers: pd.DataFrame, caption: str, sector_names: dict[str, str]) -> Table:
    rows = [
        [
            Cell(row["npp"], "text"),
            Cell(row["name"], "text"),
            Cell(row["sector"], "text", sector_names.get(row["sector"], "")),
            Cell(row["district"].title(), "text"),
            Cell(row["size_class"].title(), "text"),
            Cell(format_number(row["reported_workers"])),
            Cell(format_number(row["enrolled_workers"])),
            Cell(format_number(row["unregistered_workers"])),
            Cell(format_number(row["below_umk_accounts"])),
        ]
        for _, row in employers.iterrows()
    ]
    return Table(
        caption,
        ["NPP", "Nama", "Sektor", "Kecamatan", "Skala", "Dilaporkan (reported)",
         "Terdaftar (enrolled)", "Belum terdaftar (unregistered)", "Akun < UMK"],
        rows,
        "" if rows else "Tidak ada (none).",
    )


def _count(row: pd.Series, column: str) -> Cell:
    return _derived(row, column, column, format_number)


def _derived(row: pd.Series, column: str, hidden_with: str, formatter) -> Cell:
    """A value published unless the count it belongs to (``hidden_with``) is suppressed."""
    if is_true(row.get(hidden_with + SUPPRESSED_SUFFIX)):
        return Cell(SUPPRESSED, "suppressed")
    return Cell(formatter(row[column]))


def _on_track(value) -> Cell:
    if is_missing(value):
        return Cell(MISSING)
    return Cell("ya" if value else "tidak", "good" if value else "bad")
