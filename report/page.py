"""The report page: headline figures, charts (embedded as data URIs) and short tables."""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from importlib.resources import files

import jinja2
import pandas as pd

from cakupan.report import charts
from cakupan.report.changes import headline_changes
from cakupan.report.data import CITY, COMPLIANCE, DISTRICT, SECTOR, PublishedTable
from cakupan.report.formatting import (
    SUPPRESSED,
    format_date,
    format_number,
    format_percent,
    is_missing,
    is_true,
)
from cakupan.report.history import PublishedHistory
from cakupan.report.suppression import SMALL_CELL_LIMIT, SUPPRESSED_SUFFIX
from cakupan.ingest.audit import Freshness

WORK_LIST_LENGTH = 10
CITY_CHART = "city_coverage.png"
COMPOSITION_CHART = "composition.png"
SECTOR_CHART = "sector_coverage.png"
DISTRICT_CHART = "district_coverage.png"
COMPLIANCE_CHART = "compliance.png"
HISTORY_CHART = "city_coverage_history.png"
CHART_FILES = (CITY_CHART, COMPOSITION_CHART, SECTOR_CHART, DISTRICT_CHART, COMPLIANCE_CHART, HISTORY_CHART)

_TEMPLATE = jinja2.Environment(
    loader=jinja2.FunctionLoader(lambda name: files(__package__).joinpath(name).read_text("utf-8")),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
).get_template("index.html.j2")


@dataclass(frozen=True)
class Cell:
    text: str
    kind: str = "num"  # num | text | date | suppressed | good | bad


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


@dataclass(frozen=True)
class EmbeddedChart:
    file_name: str
    title: str
    data_uri: str


@dataclass(frozen=True)
class Section:
    title: str
    intro: str
    charts: list[EmbeddedChart]
    tables: list[Table]


@dataclass(frozen=True)
class Headline:
    label: str
    value: str
    note: str
    tone: str = ""  # good | bad | "" (neutral)
    change: str = ""  # since the previous publication with a different as_of


@dataclass(frozen=True)
class Page:
    html: str
    charts: dict[str, bytes]


def latest_city_row(published: dict[str, PublishedTable]) -> pd.Series | None:
    """The city row of the latest reported year, or None before anything is loaded."""
    city = published.get(CITY)
    if city is None or city.frame.empty:
        return None
    return city.frame.sort_values("year").iloc[-1]


def headline_figures(latest: pd.Series) -> list[Headline]:
    """Coverage now, target, gap in workers, on track or not: what a reader needs first."""
    year = int(latest["year"])
    carried = (" Angkatan kerja dibawa dari tahun sebelumnya (carried forward)."
               if is_true(latest["workforce_carried_forward"]) else "")
    has_target = not is_missing(latest["target_rate"])
    if is_missing(latest["on_track"]):
        status, english, tone = "Tanpa target", "no target", ""
    elif latest["on_track"]:
        status, english, tone = "Sesuai target", "on track", "good"
    else:
        status, english, tone = "Di bawah target", "not on track", "bad"
    return [
        Headline(
            f"Cakupan {year} (coverage)",
            format_percent(latest["coverage_rate"]),
            f"{format_number(latest['covered'])} dari {format_number(latest['workforce'])} "
            f"pekerja per {format_date(latest['ref_date'])}.{carried}",
        ),
        Headline(
            f"Target {year}",
            format_percent(latest["target_rate"]) if has_target else "–",
            "Target kota (city target, ALL)" if has_target else "Tahun ini tanpa target",
        ),
        Headline(
            "Kesenjangan (gap)",
            f"{format_number(latest['gap_workers'])} pekerja" if has_target else "–",
            "Pekerja yang masih perlu tercakup untuk mencapai target",
        ),
        Headline("Status", status, f"{english}, per {format_date(latest['ref_date'])}", tone),
    ]


def build_page(
    published: dict[str, PublishedTable],
    target_path: pd.DataFrame,
    sector_names_en: dict[str, str],
    history: PublishedHistory | None = None,
    freshness: Freshness | None = None,
) -> Page:
    """The page's HTML and the chart PNGs it embeds (empty marts: a page that says so).

    ``history`` (the publication shown and those before it) adds the publication line;
    ``freshness`` (of the latest run) adds a banner when a kind is late or stale.
    """
    latest = latest_city_row(published)
    if latest is None:
        html = _TEMPLATE.render(as_of=None, headlines=[], sections=[], notes=_notes(),
                                publication=publication_line(history), banner=freshness_banner(freshness))
        return Page(html, {})

    year = int(latest["year"])
    chart_pngs: dict[str, bytes] = {}
    city = published[CITY].frame.sort_values("year").reset_index(drop=True)
    chart_pngs[CITY_CHART] = charts.city_chart(city, target_path)
    chart_pngs[COMPOSITION_CHART] = charts.composition_chart(city)
    sections = [
        Section(
            "Cakupan kota per tahun (city coverage by year)",
            "Pekerja tercakup (covered persons) dibagi angkatan kerja BPS (workforce), pada "
            "31 Desember tiap tahun atau tanggal data terakhir.",
            [_embed(CITY_CHART, "Cakupan terhadap target", chart_pngs),
             _embed(COMPOSITION_CHART, "Komposisi formal / informal / rentan", chart_pngs)],
            [_city_table(city)],
        )
    ]
    history_section = _history_section(history, latest, chart_pngs)
    if history_section is not None:
        sections.append(history_section)

    sectors = _rows_of_year(published.get(SECTOR), year)
    if sectors is not None:
        ordered = _sort_sectors(sectors)
        chart_pngs[SECTOR_CHART] = charts.sector_chart(ordered[ordered["workforce"].notna()], year)
        sections.append(Section(
            f"Sektor {year} (sectors)",
            "Diurutkan dari cakupan tertinggi. Angkatan kerja per sektor adalah perkiraan "
            "(estimate) dari pembagian BPS.",
            [_embed(SECTOR_CHART, "Cakupan per sektor", chart_pngs)],
            [_sector_table(ordered, sector_names_en, year)],
        ))

    districts = _rows_of_year(published.get(DISTRICT), year)
    if districts is not None:
        ordered = districts.sort_values("district").reset_index(drop=True)
        chart_pngs[DISTRICT_CHART] = charts.district_chart(ordered, year)
        sections.append(Section(
            f"Kecamatan {year} (districts)",
            "Tidak ada angkatan kerja per kecamatan, maka tanpa tingkat cakupan (no rate).",
            [_embed(DISTRICT_CHART, "Pekerja tercakup per kecamatan", chart_pngs)],
            [_district_table(ordered, year)],
        ))

    compliance = published.get(COMPLIANCE)
    if compliance is not None:
        unregistered, below_umk = _work_lists(compliance.frame)
        chart_pngs[COMPLIANCE_CHART] = charts.compliance_chart(unregistered, below_umk)
        sections.append(Section(
            "Daftar kerja kepatuhan (compliance work list)",
            _compliance_intro(compliance.frame, latest),
            [_embed(COMPLIANCE_CHART, "Pemberi kerja prioritas", chart_pngs)],
            [
                _employer_table(unregistered, f"{WORK_LIST_LENGTH} pemberi kerja dengan pekerja "
                                "belum didaftarkan terbanyak (most unregistered workers)"),
                _employer_table(below_umk, f"{WORK_LIST_LENGTH} pemberi kerja dengan akun upah di "
                                "bawah UMK terbanyak (most accounts below the UMK)"),
            ],
        ))

    html = _TEMPLATE.render(
        as_of=format_date(latest["ref_date"]),
        headlines=_with_changes(headline_figures(latest), headline_changes(latest, history)),
        sections=sections,
        notes=_notes(),
        publication=publication_line(history),
        banner=freshness_banner(freshness),
    )
    return Page(html, chart_pngs)


# --- history and freshness (docs/published-tables.md, "History"; README, freshness) ---


def publication_line(history: PublishedHistory | None) -> str:
    """Which publication the page shows: a reader of an old report must see it is one."""
    if history is None:
        return ""
    shown = history.shown
    return (f"Sebagaimana diterbitkan (as published) {format_date(shown.published_at.date())} "
            f"{shown.published_at:%H:%M} UTC oleh run {shown.flow} {shown.run_id}")


def _with_changes(headlines: list[Headline], changes: list[str]) -> list[Headline]:
    return [replace(headline, change=change) for headline, change in zip(headlines, changes)]


def _history_section(history: PublishedHistory | None, latest: pd.Series, chart_pngs: dict[str, bytes]) -> Section | None:
    """The city coverage rate of the shown year as published on each as_of."""
    year = int(latest["year"])
    rates = history.rate_by_as_of(year) if history is not None else None
    if rates is None or rates.empty:
        return None
    chart_pngs[HISTORY_CHART] = charts.history_chart(rates, year, latest["target_rate"])
    return Section(
        f"Cakupan {year} per terbitan (coverage as published)",
        f"Tingkat cakupan kota {year} sebagaimana diterbitkan pada tiap tanggal data "
        f"({format_number(len(rates))} tanggal, {format_date(rates['as_of'].iloc[0])} sampai "
        f"{format_date(rates['as_of'].iloc[-1])}): angka bergerak karena data baru dan kiriman ulang BPJS.",
        [_embed(HISTORY_CHART, f"Cakupan {year} per tanggal data", chart_pngs)],
        [],
    )


def freshness_banner(freshness: Freshness | None) -> list[str]:
    """One line per late or stale extract kind (empty when every kind is fresh)."""
    if freshness is None:
        return []
    return freshness.problems()


def _embed(file_name: str, title: str, chart_pngs: dict[str, bytes]) -> EmbeddedChart:
    encoded = base64.b64encode(chart_pngs[file_name]).decode("ascii")
    return EmbeddedChart(file_name, title, f"data:image/png;base64,{encoded}")


def _rows_of_year(table: PublishedTable | None, year: int) -> pd.DataFrame | None:
    if table is None:
        return None
    rows = table.frame[table.frame["year"] == year]
    return None if rows.empty else rows


def _sort_sectors(sectors: pd.DataFrame) -> pd.DataFrame:
    """Highest coverage first; sectors without a publishable rate last, by letter."""
    return sectors.sort_values(
        ["coverage_rate", "sector"], ascending=[False, True], na_position="last"
    ).reset_index(drop=True)


def _count(row: pd.Series, column: str) -> Cell:
    return _derived(row, column, column, format_number)


def _derived(row: pd.Series, column: str, hidden_with: str, formatter) -> Cell:
    """A value published unless the count it belongs to (``hidden_with``) is suppressed."""
    if is_true(row.get(hidden_with + SUPPRESSED_SUFFIX)):
        return Cell(SUPPRESSED, "suppressed")
    return Cell(formatter(row[column]))


def _on_track(value) -> Cell:
    if is_missing(value):
        return Cell("–")
    return Cell("ya" if value else "tidak", "good" if value else "bad")


def _city_table(city: pd.DataFrame) -> Table:
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
        for _, row in city.iterrows()
    ]
    return Table(
        "Kota Malang per tahun",
        ["Tahun", "Tanggal acuan", "Angkatan kerja (workforce)", "Tercakup (covered)", "Formal",
         "Informal", "Rentan (vulnerable)", "Cakupan (coverage)", "Target", "Kesenjangan (gap)",
         "Sesuai target (on track)"],
        rows,
        "* angkatan kerja tahun terakhir dibawa dari tahun sebelumnya (carried forward)."
        if any(is_true(value) for value in city["workforce_carried_forward"]) else "",
    )


def _sector_table(sectors: pd.DataFrame, names_en: dict[str, str], year: int) -> Table:
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


def _district_table(districts: pd.DataFrame, year: int) -> Table:
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


def _work_lists(compliance: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    unregistered = compliance[compliance["unregistered_workers"] > 0].sort_values(
        ["unregistered_workers", "reported_workers", "npp"], ascending=[False, False, True]
    )
    below_umk = compliance[compliance["below_umk_accounts"] > 0].sort_values(
        ["below_umk_accounts", "enrolled_workers", "npp"], ascending=[False, False, True]
    )
    return unregistered.head(WORK_LIST_LENGTH), below_umk.head(WORK_LIST_LENGTH)


def _compliance_intro(compliance: pd.DataFrame, latest: pd.Series) -> str:
    return (
        f"Dari {format_number(len(compliance))} pemberi kerja aktif per "
        f"{format_date(latest['ref_date'])}: {format_number(int(compliance['pds_workers'].sum()))} "
        f"belum mendaftarkan semua pekerjanya ({format_number(int(compliance['unregistered_workers'].sum()))} "
        f"pekerja, PDS tenaga kerja) dan {format_number(int(compliance['pds_wage'].sum()))} "
        "melaporkan upah di bawah UMK (PDS upah). Daftar lengkap: employer_compliance.csv."
    )


def _employer_table(employers: pd.DataFrame, caption: str) -> Table:
    rows = [
        [
            Cell(row["npp"], "text"),
            Cell(row["name"], "text"),
            Cell(row["sector"], "text"),
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


def _notes() -> list[str]:
    return [
        f"s = disembunyikan (suppressed): jumlah 1–{SMALL_CELL_LIMIT - 1} orang per sektor atau "
        "kecamatan, dan sel pelengkap agar tidak dapat dihitung dari total (complementary "
        "suppression). Angka 0 ditampilkan. Tabel gudang data (warehouse) tetap utuh.",
        "Kategori: formal = segmen PU dan JAKON; rentan (vulnerable) = BPU dibayar APBD; "
        "informal = BPU lainnya. Satu orang (NIK) dihitung sekali.",
        "Data ekspor (BI): file Parquet dan CSV di folder ini; per sektor dan per kecamatan "
        "dengan penyembunyian yang sama, kolom *_suppressed menandai sel yang disembunyikan.",
    ]
