"""The report page: headline cards, charts (inline SVG), tables and the downloads."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from importlib.resources import files

import jinja2
import pandas as pd

from cakupan.report import charts
from cakupan.report.changes import headline_changes
from cakupan.report.data import CITY_TABLE, COMPLIANCE_TABLE, DISTRICT_TABLE, SECTOR_TABLE, PublishedTable
from cakupan.report.drawing import Chart
from cakupan.report.explanation import bridge_steps, largest_effect_sentence
from cakupan.report.files import export_file_names
from cakupan.report.formatting import format_date, format_number, format_percent, is_missing, is_true
from cakupan.report.published_figures import PublishedHistory
from cakupan.report.suppression import SMALL_CELL_LIMIT
from cakupan.report.tables import Table, city_table, district_table, employer_table, sector_table
from cakupan.transforms.explain import Explanation
from cakupan.warehouse.freshness import FRESH, STALE, Freshness

WORK_LIST_LENGTH = 10
TABLE_DESCRIPTIONS = {
    CITY_TABLE: "Cakupan kota per tahun (city coverage by year), angka tepat (exact)",
    SECTOR_TABLE: "Cakupan per sektor dan tahun (by sector and year), sel kecil disembunyikan (small cells suppressed)",
    DISTRICT_TABLE: "Pekerja tercakup per kecamatan dan tahun (by district and year), sel kecil disembunyikan",
    COMPLIANCE_TABLE: "Daftar kerja kepatuhan: semua pemberi kerja aktif (compliance work list, every "
                "active employer), untuk pengawas, bukan data terbuka (for inspectors, not open data)",
}

_TEMPLATE = jinja2.Environment(
    loader=jinja2.FunctionLoader(lambda name: files(__package__).joinpath(name).read_text("utf-8")),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
).get_template("index.html.j2")


@dataclass(frozen=True)
class Link:
    text: str
    href: str


@dataclass(frozen=True)
class Download:
    """What one published table or chart holds, and its files."""

    description: str
    links: list[Link]


@dataclass(frozen=True)
class Section:
    title: str
    intro: str
    charts: list[Chart]
    tables: list[Table]
    links: list[Link] = field(default_factory=list)


@dataclass(frozen=True)
class Headline:
    """A headline card; ``delta`` is an optional change beside the value (e.g. since last night)."""

    label: str
    value: str
    note: str
    tone: str = ""  # good | bad | "" (neutral)
    delta: str = ""


@dataclass(frozen=True)
class Banner:
    """A message above the headline cards (e.g. a late delivery)."""

    text: str
    tone: str = "warning"


@dataclass(frozen=True)
class Page:
    html: str
    charts: dict[str, bytes]  # chart file name -> PNG


def latest_city_row(published: dict[str, PublishedTable]) -> pd.Series | None:
    """The city row of the latest reported year, or None before anything is loaded."""
    city = published.get(CITY_TABLE)
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
            "Target kota (city target)" if has_target else "Tahun ini tanpa target",
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
    banners: list[Banner] | None = None,
    history: PublishedHistory | None = None,
    bridge: Explanation | None = None,
) -> Page:
    """The page's HTML and the chart PNGs it links (empty marts: a page that says so).

    ``history`` (the publication shown and those before it) adds the publication line, each
    headline's change since the previous as_of and the chart of the year's rate per as_of;
    ``bridge`` (the city's, when the headline year moved) a waterfall of why it moved.
    """
    latest = latest_city_row(published)
    if latest is None:
        html = _TEMPLATE.render(as_of=None, banners=banners or [], headlines=[], sections=[],
                                downloads=[], notes=_notes(), publication=publication_line(history))
        return Page(html, {})

    year = int(latest["year"])
    city = published[CITY_TABLE].frame.sort_values("year").reset_index(drop=True)
    sections = [] if bridge is None else [_bridge_section(bridge)]
    sections += [
        Section(
            "Cakupan kota per tahun (city coverage by year)",
            "Pekerja tercakup (covered persons) dibagi angkatan kerja BPS (workforce), pada "
            "31 Desember tiap tahun atau tanggal data terakhir.",
            [charts.city_chart(city, target_path), charts.composition_chart(city)],
            [city_table(city)],
        )
    ]
    history_section = _history_section(history, latest)
    if history_section is not None:
        sections.append(history_section)

    sector_names: dict[str, str] = {}
    sectors = _rows_of_year(published.get(SECTOR_TABLE), year)
    if sectors is not None:
        ordered = _sort_sectors(sectors)
        sector_names = {row["sector"]: row["sector_name"] for _, row in ordered.iterrows()
                        if not is_missing(row["sector_name"])}
        with_workforce = ordered[ordered["workforce"].notna()]
        sections.append(Section(
            f"Sektor {year} (sectors)",
            "Diurutkan dari cakupan tertinggi. Angkatan kerja per sektor adalah perkiraan "
            "(estimate) dari pembagian BPS.",
            [charts.sector_chart(with_workforce, year)] if not with_workforce.empty else [],
            [sector_table(ordered, sector_names_en, year)],
        ))

    districts = _rows_of_year(published.get(DISTRICT_TABLE), year)
    if districts is not None:
        ordered = districts.sort_values("district").reset_index(drop=True)
        sections.append(Section(
            f"Kecamatan {year} (districts)",
            "Tidak ada angkatan kerja per kecamatan, maka tanpa tingkat cakupan (no rate).",
            [charts.district_chart(ordered, year)],
            [district_table(ordered, year)],
        ))

    compliance = published.get(COMPLIANCE_TABLE)
    if compliance is not None:
        unregistered, below_umk = _work_lists(compliance.frame)
        sections.append(Section(
            "Daftar kerja kepatuhan (compliance work list)",
            _compliance_intro(compliance.frame, latest),
            [charts.compliance_chart(unregistered, below_umk)],
            [
                employer_table(unregistered, f"{WORK_LIST_LENGTH} pemberi kerja dengan pekerja "
                               "belum didaftarkan terbanyak (most unregistered workers)", sector_names),
                employer_table(below_umk, f"{WORK_LIST_LENGTH} pemberi kerja dengan akun upah di "
                               "bawah UMK terbanyak (most accounts below the UMK)", sector_names),
            ],
            [Link(name, name) for name in export_file_names(COMPLIANCE_TABLE)],
        ))

    chart_list = [chart for section in sections for chart in section.charts]
    html = _TEMPLATE.render(
        as_of=format_date(latest["ref_date"]),
        banners=banners or [],
        headlines=_with_changes(headline_figures(latest), headline_changes(latest, history)),
        sections=sections,
        downloads=_downloads(published, chart_list),
        notes=_notes(),
        publication=publication_line(history),
    )
    return Page(html, {chart.file_name: chart.png for chart in chart_list})


# --- history and freshness (docs/published-tables.md, "History"; README, freshness) ---


def publication_line(history: PublishedHistory | None) -> str:
    """Which publication the page shows: a reader of an earlier report must see it is one."""
    if history is None:
        return ""
    shown = history.shown
    return (f"Sebagaimana diterbitkan (as published) {format_date(shown.published_at.date())} "
            f"{shown.published_at:%H:%M} UTC oleh run {shown.flow} {shown.run_id}")


def freshness_banners(freshness: Freshness | None) -> list[Banner]:
    """A banner per late or stale extract kind, with its facts (none when all are fresh)."""
    if freshness is None:
        return []
    return [
        Banner(f"Data BPJS belum terkini (delivery {kind.level}): {kind.describe(freshness.run_date)}",
               "danger" if kind.level == STALE else "warning")
        for kind in sorted(freshness.kinds, key=lambda kind: kind.level != STALE)
        if kind.level != FRESH
    ]


def _with_changes(headlines: list[Headline], changes: list[str]) -> list[Headline]:
    return [replace(headline, delta=change) for headline, change in zip(headlines, changes)]


def _history_section(history: PublishedHistory | None, latest: pd.Series) -> Section | None:
    """The city coverage rate of the shown year as published on each as_of."""
    year = int(latest["year"])
    rates = history.rate_by_as_of(year) if history is not None else None
    if rates is None or rates.empty:
        return None
    return Section(
        f"Cakupan {year} per terbitan (coverage as published)",
        f"Tingkat cakupan kota {year} sebagaimana diterbitkan pada tiap tanggal data "
        f"({format_number(len(rates))} tanggal, {format_date(rates['as_of'].iloc[0])} sampai "
        f"{format_date(rates['as_of'].iloc[-1])}): angka bergerak karena data baru dan kiriman ulang BPJS.",
        [charts.history_chart(rates, year, latest["target_rate"])],
        [],
    )


def _bridge_section(bridge: Explanation) -> Section:
    """Beside the headline change: the city's bridge as a waterfall and its largest effect in
    words; a sentence only, when the causes are not known."""
    since = f"sejak data per {format_date(bridge.p0.as_of)}"
    title = f"Mengapa cakupan {bridge.year} berubah {since} (why the figure moved)"
    if bridge.unknown or bridge.problems:
        return Section(title, "Penyebab perubahan tidak dapat dirinci: terbitan sebelumnya mendahului "
                       "pencatatan berkas data yang berlaku (the causes are not known).", [], [])
    row = bridge.row("city")
    return Section(
        title,
        f"{format_number(row.p0)} → {format_number(row.p1)} pekerja tercakup. {largest_effect_sentence(row)}",
        [charts.bridge_chart(bridge_steps(bridge), bridge.year)],
        [],
    )


def _downloads(published: dict[str, PublishedTable], chart_list: list[Chart]) -> list[Download]:
    tables = [Download(TABLE_DESCRIPTIONS[table], [Link(name, name) for name in export_file_names(table)])
              for table in published]
    return tables + [Download(f"Grafik (chart): {chart.title}", [Link(chart.file_name, chart.file_name)])
                     for chart in chart_list]


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
        "melaporkan upah di bawah UMK (PDS upah). Daftar lengkap (full list):"
    )


def _notes() -> list[str]:
    return [
        f"s = disembunyikan (suppressed): jumlah 1–{SMALL_CELL_LIMIT - 1} orang per sektor atau "
        "kecamatan, dan sel pelengkap agar tidak dapat dihitung dari total (complementary "
        "suppression). Angka 0 ditampilkan. Tabel gudang data (warehouse) tetap utuh.",
        "Kategori: formal = segmen PU dan JAKON; rentan (vulnerable) = BPU dibayar APBD; "
        "informal = BPU lainnya. Satu orang (NIK) dihitung sekali.",
        "Data ekspor (BI): file Parquet dan CSV di bawah; per sektor dan per kecamatan "
        "dengan penyembunyian yang sama, kolom *_suppressed menandai sel yang disembunyikan. "
        "Di CSV, teks yang diawali =, +, -, @ diberi tanda ' agar tidak dijalankan sebagai rumus "
        "spreadsheet (Parquet tetap persis).",
    ]
