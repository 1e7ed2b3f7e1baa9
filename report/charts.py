"""The report's charts, each drawn twice with the kit of `drawing.py`: wide for a desktop and
narrow for a phone, so that their text stays legible at the width they are shown. The page
inlines both as SVG (text kept as text) and shows the one that fits; the wide one is also
written as a PNG file, the raster of the same drawing.

Legends sit outside the plotting area, so they never cover data. Names are wrapped, never
cut; where a phone has room only for a sector letter, the letter carries the full name as a
tooltip (SVG ``<title>``) and the table below the chart spells it out.

Elements a reader (or a test) needs to find carry ids: ``<chart>-<variant>-bar-<key>`` for a
bar, ``<chart>-<variant>-legend`` for the legend, ``<chart>-<variant>-label-<key>`` for a
category label. Per-sector and per-district charts take the suppressed tables: a suppressed
value gets no bar, only the mark ``s``.
"""

from __future__ import annotations

import textwrap

import pandas as pd
from matplotlib.dates import AutoDateLocator, num2date
from matplotlib.ticker import FuncFormatter, MaxNLocator

from cakupan.report.drawing import (
    NUMBER_AXIS, PERCENT_AXIS, Chart, Drawing, Variant, label_bars, render, stacked_positions, tidy,
)
from cakupan.report.formatting import MONTHS, SUPPRESSED, format_number, format_percent, is_missing, is_true

TARGET_HORIZON = 2030
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
FORMAL_COLOUR = "#f0a030"
TARGET_COLOUR = "#c0392b"
WORKFORCE_COLOUR = "#9aa5b1"
GAIN_COLOUR = "#3a9a5b"
LOSS_COLOUR = "#c0392b"

CITY_CHART = "city_coverage"
COMPOSITION_CHART = "composition"
SECTOR_CHART = "sector_coverage"
DISTRICT_CHART = "district_coverage"
COMPLIANCE_CHART = "compliance"
HISTORY_CHART = "city_coverage_history"
BRIDGE_CHART = "city_bridge"
CHART_NAMES = (CITY_CHART, COMPOSITION_CHART, SECTOR_CHART, DISTRICT_CHART, COMPLIANCE_CHART, HISTORY_CHART, BRIDGE_CHART)
CHART_FILES = tuple(f"{name}.png" for name in CHART_NAMES)


def city_chart(city: pd.DataFrame, target_path: pd.DataFrame) -> Chart:
    """Coverage by year against target, the target path to 2030, the latest year's gap."""
    years = city["year"].astype(int).tolist()
    rates = city["coverage_rate"].astype("Float64").fillna(0).astype(float).tolist()
    carried = [is_true(value) for value in city["workforce_carried_forward"]]
    path = _target_path(city, target_path)
    latest = city.iloc[-1]
    gap_target = (None if is_missing(latest["gap_workers"]) or is_missing(latest["target_rate"])
                  else float(latest["target_rate"]))

    def draw(variant: Variant) -> Drawing:
        all_years = sorted(set(years) | set(path["year"]))
        drawing = Drawing(CITY_CHART, variant, 0.34 * len(all_years) + 1.4 if variant.narrow else 4.4)
        ax = drawing.fig.add_subplot()
        labels = [format_percent(rate) + ("*" if flag else "") for rate, flag in zip(rates, carried)]
        top = max([*rates, *path["target_rate"], 0.1]) * 1.12
        target_label = f"Target (jalur sampai {TARGET_HORIZON})" if not path.empty else None
        if variant.narrow:  # years down the side: a phone has height, not width
            bars = ax.barh(years, rates, color=COVERAGE_COLOUR, height=0.6, label="Cakupan (coverage)")
            ax.plot(path["target_rate"], path["year"], color=TARGET_COLOUR, marker="o", markersize=4,
                    linestyle="--", label=target_label)
            label_bars(ax, bars, labels, variant, top, horizontal=True)
            for year, rate in zip(path["year"], path["target_rate"]):
                if year > years[-1]:
                    ax.annotate(format_percent(rate), (rate, year), ha="right", va="center",
                                fontsize=variant.font - 1, color=TARGET_COLOUR, xytext=(-5, 0),
                                textcoords="offset points")
            ax.set_yticks(all_years, [str(year) for year in all_years], fontsize=variant.font - 0.5)
            ax.invert_yaxis()
            ax.xaxis.set_major_formatter(PERCENT_AXIS)
            ax.xaxis.set_major_locator(MaxNLocator(4))
            ax.set_xlim(0, top)
            tidy(ax, grid="x", variant=variant)
        else:
            bars = ax.bar(years, rates, color=COVERAGE_COLOUR, width=0.6, label="Cakupan (coverage)")
            ax.plot(path["year"], path["target_rate"], color=TARGET_COLOUR, marker="o",
                    linestyle="--", label=target_label)
            for year, rate in zip(path["year"], path["target_rate"]):
                if year > years[-1]:
                    ax.annotate(format_percent(rate), (year, rate), ha="center", va="bottom",
                                fontsize=variant.font - 1, color=TARGET_COLOUR, xytext=(0, 4),
                                textcoords="offset points")
            for bar, label in zip(bars, labels):  # mid-bar, where the target line does not run
                ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height() / 2, label, ha="center",
                        va="center", fontsize=variant.font - 1, color="white")
            if gap_target is not None and rates[-1] < gap_target:  # the gap, where it is
                ax.annotate("", xy=(years[-1] + 0.38, gap_target), xytext=(years[-1] + 0.38, rates[-1]),
                            arrowprops=dict(arrowstyle="<->", color="#555555", shrinkA=0, shrinkB=0))
            ax.set_xticks(all_years, [str(year) for year in all_years], fontsize=variant.font - 0.5)
            ax.yaxis.set_major_formatter(PERCENT_AXIS)
            ax.set_ylim(0, top)
            ax.set_ylabel("Pekerja tercakup / angkatan kerja", fontsize=variant.font - 0.5)
            tidy(ax, grid="y", variant=variant)
        drawing.name_bars(bars, years)
        drawing.legend()
        return drawing

    return render(CITY_CHART, "Cakupan kota terhadap target (city coverage against target)", draw)


def composition_chart(city: pd.DataFrame) -> Chart:
    """Covered persons by year, stacked formal / informal / vulnerable."""
    years = city["year"].astype(int).tolist()
    counts = {column: city[column].astype("Float64").fillna(0).astype(float).tolist()
              for column in CATEGORY_COLOURS}
    totals = [sum(values) for values in zip(*counts.values())]

    def draw(variant: Variant) -> Drawing:
        drawing = Drawing(COMPOSITION_CHART, variant, 0.42 * len(years) + 1.6 if variant.narrow else 3.6)
        ax = drawing.fig.add_subplot()
        base = [0.0] * len(years)
        for column, colour in CATEGORY_COLOURS.items():
            if variant.narrow:
                bars = ax.barh(years, counts[column], left=base, color=colour, height=0.6,
                               label=CATEGORY_LABELS[column])
            else:
                bars = ax.bar(years, counts[column], bottom=base, color=colour, width=0.6,
                              label=CATEGORY_LABELS[column])
            drawing.name_bars(bars, [f"{year}-{column}" for year in years])
            base = [below + count for below, count in zip(base, counts[column])]
        top = max([*totals, 1.0]) * (1.3 if variant.narrow else 1.15)
        for year, total in zip(years, city["covered"]):
            if variant.narrow:
                ax.annotate(format_number(total), (float(total), year), va="center", ha="left",
                            fontsize=variant.font - 1, xytext=(3, 0), textcoords="offset points")
            else:
                ax.annotate(format_number(total), (year, float(total)), ha="center", va="bottom",
                            fontsize=variant.font - 1, xytext=(0, 2), textcoords="offset points")
        if variant.narrow:
            ax.set_yticks(years, [str(year) for year in years], fontsize=variant.font - 0.5)
            ax.invert_yaxis()
            ax.xaxis.set_major_formatter(NUMBER_AXIS)
            ax.xaxis.set_major_locator(MaxNLocator(3))
            ax.set_xlim(0, top)
            tidy(ax, grid="x", variant=variant)
        else:
            ax.set_xticks(years, [str(year) for year in years], fontsize=variant.font - 0.5)
            ax.yaxis.set_major_formatter(NUMBER_AXIS)
            ax.set_ylim(0, top)
            ax.set_ylabel("Pekerja tercakup (covered persons)", fontsize=variant.font - 0.5)
            tidy(ax, grid="y", variant=variant)
        drawing.legend()
        return drawing

    return render(COMPOSITION_CHART, "Komposisi pekerja tercakup (formal / informal / rentan)", draw)


def sector_chart(sectors: pd.DataFrame, year: int) -> Chart:
    """One year's sectors: coverage and formal coverage against target, and workforce size."""
    rows = sectors.reset_index(drop=True)
    letters = rows["sector"].tolist()
    names = [sector if is_missing(name) else f"{sector}  {name}"
             for sector, name in zip(rows["sector"], rows["sector_name"])]
    coverage = rows["coverage_rate"].astype("Float64")
    formal = rows["formal_coverage_rate"].astype("Float64").astype(float)
    target = rows["target_rate"].astype("Float64").astype(float)
    workforce = rows["workforce"].astype("Float64").fillna(0).astype(float)
    marks = [SUPPRESSED if is_true(hidden) else format_percent(rate)
             for rate, hidden in zip(coverage, rows["covered_suppressed"])]

    def draw(variant: Variant) -> Drawing:
        if variant.narrow:  # the letter, its full name as a tooltip and in the table below
            labels, tooltips = letters, names
        else:
            labels, tooltips = ["\n".join(textwrap.wrap(name, 46)) for name in names], None
        positions = stacked_positions([label.count("\n") + 1 for label in labels])
        height = (0.26 if variant.narrow else 0.25) * positions[-1] + 1.6
        drawing = Drawing(SECTOR_CHART, variant, height)
        if variant.narrow:
            cover_ax, workforce_ax = drawing.fig.add_subplot(), None
        else:
            cover_ax, workforce_ax = drawing.fig.subplots(1, 2, sharey=True, width_ratios=[3, 1])
        bars = cover_ax.barh(positions, coverage.fillna(0).astype(float), color=COVERAGE_COLOUR,
                             height=0.6, label="Cakupan (coverage)")
        drawing.name_bars(bars, letters)
        cover_ax.scatter(formal, positions, marker="D", s=18, color=FORMAL_COLOUR, zorder=3,
                         label="Cakupan formal (formal coverage)")
        cover_ax.scatter(target, positions, marker="|", s=160, linewidths=2, color=TARGET_COLOUR,
                         zorder=4, label="Target")
        for position, rate, text in zip(positions, coverage, marks):
            # at the bar's start, clear of the target and formal marks near its end
            inside = not is_missing(rate) and rate >= 0.15
            cover_ax.annotate(text, (0 if is_missing(rate) or inside else float(rate), position),
                              va="center", color="white" if inside else "black",
                              fontsize=variant.font - 1, xytext=(3, 0), textcoords="offset points")
        drawing.label_ticks(cover_ax, positions, labels, letters, tooltips)
        cover_ax.set_ylim(positions[-1] + 0.7, -0.7)  # top down
        cover_ax.xaxis.set_major_formatter(PERCENT_AXIS)
        cover_ax.set_xlim(0, 1)
        tidy(cover_ax, grid="x", variant=variant)
        if workforce_ax is not None:
            workforce_bars = workforce_ax.barh(positions, workforce, color=WORKFORCE_COLOUR, height=0.6)
            drawing.name_bars(workforce_bars, [f"workforce-{letter}" for letter in letters])
            workforce_ax.xaxis.set_major_formatter(NUMBER_AXIS)
            workforce_ax.xaxis.set_major_locator(MaxNLocator(3))
            workforce_ax.set_title("Angkatan kerja\n(workforce)", fontsize=variant.font)
            cover_ax.set_title("Cakupan (coverage)", fontsize=variant.font)
            tidy(workforce_ax, grid="x", variant=variant)
        drawing.legend()
        return drawing

    return render(SECTOR_CHART, f"Cakupan per sektor {year} (coverage by sector)", draw)


def district_chart(districts: pd.DataFrame, year: int) -> Chart:
    """One year's districts: covered persons per category, side by side."""
    rows = districts.reset_index(drop=True)
    names = rows["district"].str.title().tolist()
    top = max([float(rows[column].astype("Float64").fillna(0).max()) for column in CATEGORY_COLOURS] + [1.0])

    def draw(variant: Variant) -> Drawing:
        drawing = Drawing(DISTRICT_CHART, variant, 0.75 * len(rows) + 1.5 if variant.narrow else 0.6 * len(rows) + 1.4)
        ax = drawing.fig.add_subplot()
        width = 0.26
        for offset, (column, colour) in enumerate(CATEGORY_COLOURS.items()):
            positions = [index + (offset - 1) * width for index in range(len(rows))]
            counts = rows[column].astype("Float64")
            bars = ax.barh(positions, counts.fillna(0).astype(float), height=width, color=colour,
                           label=CATEGORY_LABELS[column])
            drawing.name_bars(bars, [f"{district}-{column}" for district in rows["district"]])
            for position, count, hidden in zip(positions, counts, rows[column + "_suppressed"]):
                text = SUPPRESSED if is_true(hidden) else format_number(count)
                ax.annotate(text, (0 if is_missing(count) else float(count), position), va="center",
                            fontsize=variant.font - 1.5, xytext=(3, 0), textcoords="offset points")
        drawing.label_ticks(ax, range(len(rows)), names, rows["district"].tolist())
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(NUMBER_AXIS)
        ax.xaxis.set_major_locator(MaxNLocator(3 if variant.narrow else 6))
        ax.set_xlim(0, top * (1.25 if variant.narrow else 1.1))  # room for the counts after the bars
        tidy(ax, grid="x", variant=variant)
        drawing.legend()
        return drawing

    return render(DISTRICT_CHART, f"Pekerja tercakup per kecamatan {year} (covered persons by district)", draw)


def compliance_chart(unregistered: pd.DataFrame, below_umk: pd.DataFrame) -> Chart:
    """The work list: employers with the most unregistered workers, and below-UMK accounts."""
    panels = (
        (unregistered, "unregistered_workers", TARGET_COLOUR, "Pekerja belum didaftarkan (PDS tenaga kerja)"),
        (below_umk, "below_umk_accounts", FORMAL_COLOUR, "Akun dengan upah di bawah UMK (PDS upah)"),
    )

    def draw(variant: Variant) -> Drawing:
        wrap_at = 22 if variant.narrow else 30
        labelled = [
            ["\n".join(textwrap.wrap(str(name), wrap_at)) or "–" for name in table["name"]]
            for table, *_ in panels
        ]
        slot_lines = [stacked_positions([label.count("\n") + 1 for label in labels]) for labels in labelled]
        span = max([positions[-1] + 1 if positions else 1 for positions in slot_lines])
        if variant.narrow:
            drawing = Drawing(COMPLIANCE_CHART, variant, 2 * (0.24 * span + 0.9) + 0.4)
            axes = drawing.fig.subplots(2, 1)
        else:
            drawing = Drawing(COMPLIANCE_CHART, variant, 0.24 * span + 1.6)
            axes = drawing.fig.subplots(1, 2)
        for ax, (table, column, colour, title), labels, positions in zip(axes, panels, labelled, slot_lines):
            ax.set_title("\n".join(textwrap.wrap(title, 28)), fontsize=variant.font)
            tidy(ax, grid="x", variant=variant)
            if table.empty:
                ax.text(0.5, 0.5, "Tidak ada (none)", ha="center", va="center", transform=ax.transAxes,
                        fontsize=variant.font)
                ax.set_axis_off()
                continue
            values = table[column].astype(float).tolist()
            bars = ax.barh(positions, values, color=colour, height=0.6)
            drawing.name_bars(bars, [f"{column}-{npp}" for npp in table["npp"]])
            for position, count in zip(positions, table[column]):
                ax.annotate(format_number(count), (float(count), position), va="center",
                            fontsize=variant.font - 1, xytext=(3, 0), textcoords="offset points")
            drawing.label_ticks(ax, positions, labels, [f"{column}-{npp}" for npp in table["npp"]],
                                table["name"].astype(str).tolist())
            ax.set_ylim(span - 0.4, -0.6)  # one bar size in both panels, top down
            ax.set_xlim(0, max(values) * 1.2)
            ax.xaxis.set_major_formatter(NUMBER_AXIS)
            ax.xaxis.set_major_locator(MaxNLocator(3 if variant.narrow else 5, integer=True))
        return drawing

    return render(COMPLIANCE_CHART, "Pemberi kerja prioritas (priority employers)", draw)


def history_chart(rates: pd.DataFrame, year: int, target_rate) -> Chart:
    """The city coverage rate of ``year`` as published on each as_of (columns as_of,
    coverage_rate), against the year's target: how the figure moved night after night."""
    dates = pd.to_datetime(rates["as_of"]).tolist()
    values = rates["coverage_rate"].astype("Float64").astype(float).tolist()
    known = [value for value in values if value == value] or [0.0]
    target = None if is_missing(target_rate) else float(target_rate)
    top = max([*known, target or 0.0]) + 0.05

    def draw(variant: Variant) -> Drawing:
        drawing = Drawing(HISTORY_CHART, variant, 3.2 if variant.narrow else 3.6)
        ax = drawing.fig.add_subplot()
        (line,) = ax.plot(dates, values, color=COVERAGE_COLOUR, marker="o", markersize=4,
                          label=f"Cakupan {year} (coverage)")
        line.set_gid(drawing.gid("line"))
        ax.annotate(format_percent(values[-1]), (dates[-1], values[-1]), ha="right", va="bottom",
                    fontsize=variant.font - 1, xytext=(0, 6), textcoords="offset points", color=COVERAGE_COLOUR)
        if target is not None:
            ax.axhline(target, color=TARGET_COLOUR, linestyle="--", label=f"Target {year}")
        ax.yaxis.set_major_formatter(PERCENT_AXIS)
        ax.set_ylim(max(0.0, min(known) - 0.05), top)
        most = 4 if variant.narrow else 10
        if len(dates) <= most:
            ax.set_xticks(dates)
        else:
            ax.xaxis.set_major_locator(AutoDateLocator(minticks=2, maxticks=most))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: _short_date(num2date(value))))
        for label in ax.get_xticklabels():
            label.set_rotation(30)
            label.set_horizontalalignment("right")
        if not variant.narrow:
            ax.set_ylabel("Pekerja tercakup / angkatan kerja", fontsize=variant.font - 0.5)
        tidy(ax, grid="y", variant=variant)
        drawing.legend()
        return drawing

    return render(HISTORY_CHART, f"Cakupan {year} per tanggal data terbitan (coverage as published, by as-of date)", draw)


def bridge_chart(steps: list[tuple[str, str, int]], year: int) -> Chart:
    """A waterfall of the city's covered persons of ``year`` from one publication to the next:
    ``steps`` are (key, label, value): the first and last are the two published totals, those
    between the effects, each floating from the running total it moves."""
    keys = [key for key, _, _ in steps]
    labels = [label for _, label, _ in steps]
    totals = (0, len(steps) - 1)
    running, spans = steps[0][2], []
    for index, (_, _, value) in enumerate(steps):
        if index in totals:
            spans.append((None, value))
        else:
            spans.append((running, running + value))
            running += value
    reached = [value for span in spans for value in span if value is not None]
    # the effects are small beside the totals: the axis starts near them, not at zero
    pad = max((max(reached) - min(reached)) * 0.35, 1)
    bottom, top = max(0, min(reached) - pad), max(reached) + pad * 0.6
    texts = [format_number(value) if index in totals else ("+" if value > 0 else "−" if value < 0 else "±")
             + format_number(abs(value)) for index, (_, _, value) in enumerate(steps)]

    def draw(variant: Variant) -> Drawing:
        narrow = variant.narrow
        drawing = Drawing(BRIDGE_CHART, variant, 0.5 * len(steps) + 1.2 if narrow else 3.6)
        ax = drawing.fig.add_subplot()
        starts = [bottom if start is None else min(start, end) for start, end in spans]
        lengths = [end - bottom if start is None else abs(end - start) for start, end in spans]
        colours = [COVERAGE_COLOUR if start is None else GAIN_COLOUR if end >= start else LOSS_COLOUR
                   for start, end in spans]
        positions = list(range(len(steps)))
        if narrow:
            bars = ax.barh(positions, lengths, left=starts, color=colours, height=0.6)
            ax.set_xlim(bottom, top)
            ax.xaxis.set_major_formatter(NUMBER_AXIS)
            ax.xaxis.set_major_locator(MaxNLocator(3, integer=True))
        else:
            bars = ax.bar(positions, lengths, bottom=starts, color=colours, width=0.6)
            ax.set_ylim(bottom, top)
            ax.yaxis.set_major_formatter(NUMBER_AXIS)
            ax.yaxis.set_major_locator(MaxNLocator(6, integer=True))
            ax.set_ylabel("Pekerja tercakup (covered persons)", fontsize=variant.font - 0.5)
        for bar, (start, end), text in zip(bars, spans, texts):
            level = max(end, start if start is not None else end)
            if narrow:
                ax.annotate(text, (level, bar.get_y() + bar.get_height() / 2), va="center", ha="left",
                            fontsize=variant.font - 1, xytext=(3, 0), textcoords="offset points")
            else:
                ax.annotate(text, (bar.get_x() + bar.get_width() / 2, level), ha="center", va="bottom",
                            fontsize=variant.font - 1, xytext=(0, 2), textcoords="offset points")
        drawing.name_bars(bars, keys)
        if narrow:
            drawing.label_ticks(ax, positions, labels, keys)
            ax.invert_yaxis()
            tidy(ax, grid="x", variant=variant)
        else:
            ax.set_xticks(positions, ["\n".join(textwrap.wrap(label, 16)) for label in labels],
                          fontsize=variant.font - 0.5)
            tidy(ax, grid="y", variant=variant)
        return drawing

    return render(BRIDGE_CHART, f"Mengapa cakupan {year} bergerak (why the figure moved)", draw)


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
