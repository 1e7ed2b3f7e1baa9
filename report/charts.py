"""The report's charts as PNG bytes (matplotlib Figure objects, no pyplot: no global state).

Per-sector and per-district charts take the suppressed tables: a suppressed value gets no
bar, only the mark ``s``.
"""

from __future__ import annotations

import io

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, num2date
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from cakupan.report.formatting import MONTHS, SUPPRESSED, format_number, format_percent, is_missing, is_true

TARGET_HORIZON = 2030
DPI = 100
CATEGORY_COLOURS = {
    "covered_formal": "#1f5fa8",
    "covered_informal": "#f0a030",
    "covered_vulnerable": "#3a9a5b",
}
CATEGORY_LABELS = {
    "covered_formal": "Formal",
    "covered_informal": "Informal",
    "covered_vulnerable": "Rentan (vulnerable, APBD)",
}
COVERAGE_COLOUR = "#1f5fa8"
TARGET_COLOUR = "#c0392b"
WORKFORCE_COLOUR = "#9aa5b1"

_PERCENT_AXIS = FuncFormatter(lambda value, _: format_percent(value, decimals=0))
_NUMBER_AXIS = FuncFormatter(lambda value, _: format_number(value))


def city_chart(city: pd.DataFrame, target_path: pd.DataFrame) -> bytes:
    """Coverage by year against target, the target path to 2030, the latest year's gap."""
    fig = Figure(figsize=(10, 4.6), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    years = city["year"].astype(int).tolist()
    rates = city["coverage_rate"].astype("Float64").fillna(0).astype(float).tolist()
    ax.bar(years, rates, color=COVERAGE_COLOUR, width=0.6, label="Cakupan (coverage)")
    for year, rate, carried in zip(years, rates, city["workforce_carried_forward"]):
        # mid-bar, where the target line does not run
        label = format_percent(rate) + ("*" if is_true(carried) else "")
        ax.text(year, rate / 2, label, ha="center", va="center", fontsize=9, color="white")

    path = _target_path(city, target_path)
    if not path.empty:
        ax.plot(path["year"], path["target_rate"], color=TARGET_COLOUR, marker="o",
                linestyle="--", label=f"Target (jalur sampai {TARGET_HORIZON})")
        for year, rate in zip(path["year"], path["target_rate"]):
            if year > years[-1]:
                ax.annotate(format_percent(rate), (year, rate), ha="center", va="bottom",
                            fontsize=8, color=TARGET_COLOUR, xytext=(0, 4), textcoords="offset points")

    latest = city.iloc[-1]
    if not is_missing(latest["gap_workers"]) and not is_missing(latest["target_rate"]):
        target = float(latest["target_rate"])
        if rates[-1] < target:  # the gap drawn where it is: between the latest bar and its target
            ax.annotate("", xy=(years[-1] + 0.38, target), xytext=(years[-1] + 0.38, rates[-1]),
                        arrowprops=dict(arrowstyle="<->", color="#555555", shrinkA=0, shrinkB=0))
        ax.text(0.01, 0.80, f"Kesenjangan {years[-1]} (gap): {format_number(latest['gap_workers'])} pekerja",
                transform=ax.transAxes, fontsize=10, fontweight="bold", color="#333333")
    ax.set_xticks(sorted(set(years) | set(path["year"].astype(int))))
    ax.yaxis.set_major_formatter(_PERCENT_AXIS)
    ax.set_ylim(0, max([*rates, *path["target_rate"].astype(float), 0.1]) * 1.18)
    ax.set_ylabel("Pekerja tercakup / angkatan kerja")
    ax.set_title("Cakupan Kota Malang per tahun terhadap target (city coverage against target)")
    ax.legend(loc="upper left", frameon=False)
    _tidy(ax, grid="y")
    return _png(fig)


def sector_chart(sectors: pd.DataFrame, year: int) -> bytes:
    """One year's sectors: coverage and formal coverage against target, and workforce size."""
    rows = sectors.iloc[::-1]  # barh draws bottom-up: the first row belongs on top
    labels = [_sector_label(sector, name) for sector, name in zip(rows["sector"], rows["sector_name"])]
    positions = range(len(rows))
    fig = Figure(figsize=(11, 0.34 * len(rows) + 1.8), dpi=DPI, layout="constrained")
    cover_ax, workforce_ax = fig.subplots(1, 2, sharey=True, width_ratios=[3, 1])

    coverage = rows["coverage_rate"].astype("Float64")
    cover_ax.barh(positions, coverage.fillna(0).astype(float), color=COVERAGE_COLOUR, height=0.6,
                  label="Cakupan (coverage)")
    formal = rows["formal_coverage_rate"].astype("Float64")
    cover_ax.scatter(formal.astype(float), positions, marker="D", s=22, color="#f0a030", zorder=3,
                     label="Cakupan formal (formal coverage)")
    cover_ax.scatter(rows["target_rate"].astype("Float64").astype(float), positions, marker="|",
                     s=220, linewidths=2.2, color=TARGET_COLOUR, zorder=4, label="Target")
    for position, rate, hidden in zip(positions, coverage, rows["covered_suppressed"]):
        text = SUPPRESSED if is_true(hidden) else format_percent(rate)
        # at the bar's start, clear of the target and formal marks near its end
        inside = not is_missing(rate) and rate >= 0.12
        cover_ax.annotate(text, (0 if is_missing(rate) or inside else float(rate), position),
                          va="center", color="white" if inside else "black",
                          fontsize=8, xytext=(3, 0), textcoords="offset points")
    cover_ax.set_yticks(list(positions), labels, fontsize=8)
    cover_ax.xaxis.set_major_formatter(_PERCENT_AXIS)
    cover_ax.set_xlim(0, 1)
    cover_ax.set_title(f"Cakupan per sektor {year} (coverage by sector)", fontsize=11)
    fig.legend(loc="outside lower center", ncols=3, fontsize=8, frameon=False)

    workforce = rows["workforce"].astype("Float64").fillna(0).astype(float)
    workforce_ax.barh(positions, workforce, color=WORKFORCE_COLOUR, height=0.6)
    workforce_ax.xaxis.set_major_formatter(_NUMBER_AXIS)
    workforce_ax.xaxis.set_major_locator(MaxNLocator(3))
    workforce_ax.set_title("Angkatan kerja (workforce)", fontsize=11)
    for ax in (cover_ax, workforce_ax):
        _tidy(ax, grid="x")
    return _png(fig)


def composition_chart(city: pd.DataFrame) -> bytes:
    """Covered persons by year, stacked formal / informal / vulnerable."""
    fig = Figure(figsize=(10, 4.2), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    years = city["year"].astype(int).tolist()
    bottom = [0.0] * len(years)
    for column, colour in CATEGORY_COLOURS.items():
        counts = city[column].astype("Float64").fillna(0).astype(float).tolist()
        ax.bar(years, counts, bottom=bottom, color=colour, width=0.6, label=CATEGORY_LABELS[column])
        bottom = [below + count for below, count in zip(bottom, counts)]
    for year, total in zip(years, city["covered"]):
        ax.annotate(format_number(total), (year, float(total)), ha="center", va="bottom",
                    fontsize=9, xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(years)
    ax.yaxis.set_major_formatter(_NUMBER_AXIS)
    ax.set_ylim(0, max([*bottom, 1.0]) * 1.25)
    ax.set_ylabel("Pekerja tercakup (covered persons)")
    ax.set_title("Komposisi pekerja tercakup (formal / informal / rentan)")
    ax.legend(loc="upper left", frameon=False, ncols=3)
    _tidy(ax, grid="y")
    return _png(fig)


def district_chart(districts: pd.DataFrame, year: int) -> bytes:
    """One year's districts: covered persons per category, side by side."""
    fig = Figure(figsize=(10, 4.2), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    rows = districts.iloc[::-1]
    width = 0.26
    for offset, (column, colour) in enumerate(CATEGORY_COLOURS.items()):
        positions = [index + (1 - offset) * width for index in range(len(rows))]
        counts = rows[column].astype("Float64")
        ax.barh(positions, counts.fillna(0).astype(float), height=width, color=colour,
                label=CATEGORY_LABELS[column])
        for position, count, hidden in zip(positions, counts, rows[column + "_suppressed"]):
            text = SUPPRESSED if is_true(hidden) else format_number(count)
            ax.annotate(text, (0 if is_missing(count) else float(count), position), va="center",
                        fontsize=7, xytext=(3, 0), textcoords="offset points")
    ax.set_yticks(range(len(rows)), rows["district"].str.title().tolist())
    ax.xaxis.set_major_formatter(_NUMBER_AXIS)
    ax.set_title(f"Pekerja tercakup per kecamatan {year} (covered persons by district)")
    ax.legend(loc="lower right", frameon=False, fontsize=8)
    _tidy(ax, grid="x")
    return _png(fig)


def compliance_chart(unregistered: pd.DataFrame, below_umk: pd.DataFrame) -> bytes:
    """The work list: employers with the most unregistered workers, and below-UMK accounts."""
    slots = max(len(unregistered), len(below_umk), 1)
    fig = Figure(figsize=(11, 2.4 + 0.3 * slots), dpi=DPI, layout="constrained")
    panels = fig.subplots(1, 2)
    for ax, table, column, colour, title in (
        (panels[0], unregistered, "unregistered_workers", TARGET_COLOUR,
         "Pekerja belum didaftarkan (PDS tenaga kerja)"),
        (panels[1], below_umk, "below_umk_accounts", "#f0a030",
         "Akun dengan upah di bawah UMK (PDS upah)"),
    ):
        ax.set_title(title, fontsize=10)
        _tidy(ax, grid="x")
        if table.empty:
            ax.text(0.5, 0.5, "Tidak ada (none)", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            continue
        rows = table.iloc[::-1]
        ax.barh(range(len(rows)), rows[column].astype(float), color=colour, height=0.6)
        for position, count in enumerate(rows[column]):
            ax.annotate(format_number(count), (float(count), position), va="center", fontsize=8,
                        xytext=(3, 0), textcoords="offset points")
        ax.set_ylim(len(rows) - slots - 0.5, len(rows) - 0.5)  # one bar size in both panels, top down
        ax.set_yticks(range(len(rows)), [_shorten(name, 28) for name in rows["name"]], fontsize=8)
        ax.xaxis.set_major_formatter(_NUMBER_AXIS)
        ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
    return _png(fig)


def history_chart(rates: pd.DataFrame, year: int, target_rate) -> bytes:
    """The city coverage rate of ``year`` as published on each as_of (columns as_of,
    coverage_rate), against the year's target: how the figure moved night after night."""
    fig = Figure(figsize=(10, 3.8), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    dates = pd.to_datetime(rates["as_of"]).tolist()
    values = rates["coverage_rate"].astype("Float64").astype(float).tolist()
    ax.plot(dates, values, color=COVERAGE_COLOUR, marker="o", markersize=4, label=f"Cakupan {year} (coverage)")
    ax.annotate(format_percent(values[-1]), (dates[-1], values[-1]), ha="left", va="bottom", fontsize=9,
                xytext=(4, 4), textcoords="offset points", color=COVERAGE_COLOUR)
    if not is_missing(target_rate):
        ax.axhline(float(target_rate), color=TARGET_COLOUR, linestyle="--", label=f"Target {year}")
    ax.yaxis.set_major_formatter(_PERCENT_AXIS)
    known = [value for value in values if value == value] or [0.0]
    top = max([*known, 0.0 if is_missing(target_rate) else float(target_rate)])
    ax.set_ylim(max(0.0, min(known) - 0.05), top + 0.05)
    ax.set_ylabel("Pekerja tercakup / angkatan kerja")
    ax.set_title(f"Cakupan {year} menurut tanggal data tiap terbitan (coverage as published, by as-of date)")
    ax.legend(loc="lower right", frameon=False)
    if len(dates) <= 12:
        ax.set_xticks(dates)
    else:
        ax.xaxis.set_major_locator(AutoDateLocator(minticks=3, maxticks=10))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: _short_date(num2date(value))))
    fig.autofmt_xdate()
    _tidy(ax, grid="y")
    return _png(fig)


def _short_date(day) -> str:
    """27 Des 2025"""
    return f"{day.day} {MONTHS[day.month - 1][:3]} {day.year}"


def _target_path(city: pd.DataFrame, target_path: pd.DataFrame) -> pd.DataFrame:
    """Targets of the reported years, then ref.targets' path up to the horizon."""
    reported = city[["year", "target_rate"]]
    later = target_path[(target_path["year"] > city["year"].max()) & (target_path["year"] <= TARGET_HORIZON)]
    path = pd.concat([reported, later[["year", "target_rate"]]], ignore_index=True)
    path = path.astype({"year": "Int64", "target_rate": "Float64"}).dropna()
    return path.astype({"year": int, "target_rate": float})


def _sector_label(sector: str, name) -> str:
    return f"{sector}  {_shorten(name, 34)}" if not is_missing(name) else sector


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _tidy(ax, grid: str) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis=grid, color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(fig)  # Agg explicitly: no display, no pyplot state
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()
