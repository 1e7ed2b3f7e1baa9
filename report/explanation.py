"""An explanation (cakupan.transforms.explain) as the command, the run's Prefect artifact and
the page show it: the bridge as text tables, CSV and JSON; the largest effect in words."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime, timezone

import duckdb

from cakupan.config import DEFAULT_DUCKDB_MEMORY_LIMIT
from cakupan.report.formatting import format_date, format_number
from cakupan.report.published_figures import PublishedHistory
from cakupan.report.tables import Cell, Table
from cakupan.transforms.explain import EFFECTS, MEASURES, BridgeRow, Explanation, FileBehind, explain, explain_years
from cakupan.warehouse.publications import publications

CSV_HEADER = ("level", "key", "measure", "p0", *EFFECTS, "p1")
FILE_ROLES = {"corrected": "re-delivered", "late": "late", "backdated": "newer"}
# What each effect is, in the page's words: "Sebagian besar perubahan berasal dari <...>".
EFFECT_WORDS = {
    "corrected": "koreksi data yang dikirim ulang BPJS",
    "late": "registrasi yang terlambat dikirim",
    "backdated": "registrasi atau penutupan yang dicatat mundur (backdated)",
    "new_period": "bergesernya tanggal acuan ke data terbaru",
}


def bridge_csv(explanation: Explanation) -> str:
    """`level,key,measure,p0,corrected,late,backdated,new_period,p1`: one line per row; an
    effect that is not known is empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for row in explanation.rows:
        writer.writerow([row.level, row.key, row.measure, row.p0,
                         *("" if value is None else value for value in row.effects().values()), row.p1])
    return out.getvalue()


def bridge_json(explanation: Explanation) -> str:
    """The bridge, the files behind each effect, the rate inputs that changed, and what is not known."""

    def publication(record, ref_date) -> dict:
        return {"run_id": record.run_id, "flow": record.flow, "as_of": _iso(record.as_of),
                "published_at": _utc(record.published_at).isoformat(), "ref_date": _iso(ref_date)}

    document = {
        "year": explanation.year,
        "p0": publication(explanation.p0, explanation.ref_date0),
        "p1": publication(explanation.p1, explanation.ref_date1),
        "rows": [{name: getattr(row, name) for name in CSV_HEADER} for row in explanation.rows],
        "files": [
            {"effect": f.effect, "role": FILE_ROLES[f.effect], "file_name": f.file_name, "kind": f.kind,
             "extract_date": _iso(f.extract_date), "versions": f.versions, "replaced_versions": f.replaced,
             "withdrawn": f.withdrawn}
            for f in explanation.files
        ],
        "rate_inputs": [
            {"level": r.level, "key": r.key, "name": r.name, "p0": r.p0, "p1": r.p1} for r in explanation.rate_inputs
        ],
        "unknown": explanation.unknown,
        "problems": list(explanation.problems),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def bridge_table(explanation: Explanation) -> Table:
    """The bridge per row: P0, the four effects, P1 (an unknown effect shows as `?`)."""
    return Table(
        caption=(f"Why {explanation.year} moved: {_describe(explanation.p0, explanation.ref_date0)} -> "
                 f"{_describe(explanation.p1, explanation.ref_date1)}"),
        headers=["level", "key", "measure", "P0", "corrected", "late", "backdated", "new period", "P1"],
        rows=[
            [Cell(row.level, "text"), Cell(row.key, "text"), Cell(row.measure, "text"), Cell(f"{row.p0:,}"),
             *(Cell("?" if value is None else f"{value:+,}") for value in row.effects().values()),
             Cell(f"{row.p1:,}")]
            for row in explanation.rows
        ],
        note=explanation.unknown or "",
    )


def files_table(explanation: Explanation) -> Table:
    """The files behind each effect, largest first: re-delivered, late, newer."""
    rows = [[Cell(f.effect, "text"), Cell(FILE_ROLES[f.effect], "text"), Cell(f.file_name, "text"),
             Cell(str(f.extract_date or "-"), "date"), Cell(_versions(f))]
            for f in explanation.files]
    newer = " (the newer files also bring what new_period counts)" if any(
        f.effect == "backdated" for f in explanation.files) else ""
    return Table(
        caption="Files behind each effect, largest first",
        headers=["effect", "as", "file", "extract date", "versions it brought"],
        rows=rows,
        note=(f"new_period: the reference date of {explanation.year} moved from {explanation.ref_date0 or '-'} "
              f"to {explanation.ref_date1 or '-'}{newer}"),
    )


def rate_input_lines(explanation: Explanation) -> list[str]:
    """Workforce and targets of the year that differ between the two publications: rates move with them."""
    return [
        f"{r.level}{' ' + r.key if r.key else ''} {r.name}: {_value(r.p0)} in P0, {_value(r.p1)} in P1"
        for r in explanation.rate_inputs
    ]


def largest_effect_sentence(row: BridgeRow) -> str:
    """The page's sentence: the largest effect on the city's covered persons, in words."""
    effects = {effect: value for effect, value in row.effects().items() if value}
    if not effects:
        return ""
    effect = max(effects, key=lambda name: abs(effects[name]))
    value = effects[effect]
    direction = "menambah" if value > 0 else "mengurangi"
    return (f"Perubahan terbesar berasal dari {EFFECT_WORDS[effect]}: {direction} "
            f"{format_number(abs(value))} orang tercakup.")


STEP_LABELS = {
    "corrected": "Koreksi (corrected)",
    "late": "Terlambat (late)",
    "backdated": "Dicatat mundur (backdated)",
    "new_period": "Periode baru (new period)",
}


def city_bridge(
    con: duckdb.DuckDBPyConnection, history: PublishedHistory, year: int, explained: Sequence[Explanation] = (),
    memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT,
) -> Explanation | None:
    """The city's bridge of ``year`` from the previous publication with another as_of to the
    shown one; None when there is none or the year's covered persons did not move (nothing
    is computed then). One of ``explained`` with the same publications and year is reused."""
    if history.previous is None or history.previous_city is None:
        return None
    before = history.previous_city[history.previous_city["year"] == year]
    now = con.execute(
        "select covered from history.coverage_city_year where run_id = ? and year = ?", [history.shown.run_id, year]
    ).fetchall()
    if before.empty or not now or int(before["covered"].iloc[0]) == now[0][0]:
        return None
    for bridge in explained:
        if (bridge.p0.run_id, bridge.p1.run_id, bridge.year) == (history.previous.run_id, history.shown.run_id, year):
            return bridge
    return explain(con, year, history.previous, history.shown, levels=("city",), memory_limit=memory_limit)


def bridges_since_previous(
    con: duckdb.DuckDBPyConnection, memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT,
) -> list[Explanation]:
    """The city bridge, from the publication before the latest to the latest, of every year
    whose published city counts moved; none when the latest publication changed nothing."""
    found = publications(con)
    if len(found) < 2 or not found[0].changed:
        return []
    latest, previous = found[0], found[1]
    moved = con.execute(
        f"""
        select year from (
            select year, {', '.join(MEASURES)} from history.coverage_city_year where run_id = $latest
            except
            select year, {', '.join(MEASURES)} from history.coverage_city_year where run_id = $previous
        )
        union
        select year from (
            select year, {', '.join(MEASURES)} from history.coverage_city_year where run_id = $previous
            except
            select year, {', '.join(MEASURES)} from history.coverage_city_year where run_id = $latest
        )
        order by year
        """,
        {"latest": latest.run_id, "previous": previous.run_id},
    ).fetchall()
    return explain_years(con, [year for (year,) in moved], previous, latest, levels=("city",), memory_limit=memory_limit)


def bridges_markdown(bridges: list[Explanation]) -> str:
    """The Prefect artifact: each moved year's city bridge, then the files behind the effects."""
    first = bridges[0]
    lines = [
        "# Why the published figures moved",
        "",
        f"From publication `{first.p0.run_id}` (as of {first.p0.as_of}) to `{first.p1.run_id}` "
        f"(as of {first.p1.as_of}): P0 + corrected + late + backdated + new_period = P1 "
        "(`cakupan explain --year Y` gives the sectors and districts too).",
        "",
        "| year | measure | P0 | corrected | late | backdated | new period | P1 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for bridge in bridges:
        for row in bridge.rows:
            effects = " | ".join("?" if v is None else f"{v:+,}" for v in row.effects().values())
            lines.append(f"| {bridge.year} | {row.measure} | {row.p0:,} | {effects} | {row.p1:,} |")
    notes = sorted({bridge.unknown for bridge in bridges if bridge.unknown}
                   | {problem for bridge in bridges for problem in bridge.problems})
    lines += ["", *(f"- {note}" for note in notes)] if notes else []
    files = first.files  # the same files are behind every year's effects
    if files:
        lines += ["", "| effect | file | extract date | versions it brought |", "|---|---|---|---|"]
        lines += [f"| {f.effect} ({FILE_ROLES[f.effect]}) | {f.file_name} | {f.extract_date} | {_versions(f)} |"
                  for f in files]
    return "\n".join(lines)


def bridge_steps(explanation: Explanation) -> list[tuple[str, str, int]]:
    """The waterfall of the city's covered persons: P0, the four effects, P1."""
    row = explanation.row("city")
    return [
        ("p0", f"Data per {format_date(explanation.p0.as_of)}", row.p0),
        *((effect, STEP_LABELS[effect], value) for effect, value in row.effects().items()),
        ("p1", f"Data per {format_date(explanation.p1.as_of)}", row.p1),
    ]


def _versions(f: FileBehind) -> str:
    if f.withdrawn:
        return f"none: re-delivery rejected (was {f.replaced:,})"
    if f.replaced is not None:
        return f"{f.versions:,} (was {f.replaced:,})"
    return f"{f.versions:,}"


def _describe(record, ref_date) -> str:
    reference = f"reference date {ref_date}" if ref_date else "year not published"
    return f"{record.run_id} (as of {record.as_of}, {reference})"


def _value(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return f"{value:,}"


def _utc(moment: datetime) -> datetime:
    """history.publications.published_at is UTC (stored without a zone by older versions)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _iso(value) -> str | None:
    return None if value is None else value.isoformat()
