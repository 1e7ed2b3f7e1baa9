"""Why a published figure moved: the bridge between two publications P0 and P1 of one year.

P0 + corrected + late + backdated + new_period = P1 for every count of the city, sector and
district tables (docs/published-tables.md, "Explaining a change"). Each effect is the
difference of two states S0..S4, and each state is computed by this package's own models (the
ones that build mart.*) in a scratch in-memory database: its raw.* and audit.extract_files
hold only the state's file versions (raw.* beside raw.superseded_*, warehouse/versions.py),
and core.as_of is pinned to the state's date. One definition of coverage, parameterised.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from cakupan.config import DEFAULT_DUCKDB_MEMORY_LIMIT
from cakupan.errors import ExplainError
from cakupan.transforms import Model, load_models, models_behind, run_models
from cakupan.warehouse.publications import PublishedRecord
from cakupan.warehouse.versions import KINDS, LOADED, FileVersion, files_in_force, kept_rows, recorded_sequence

LEVELS = ("city", "sector", "district")
MEASURES = ("covered", "covered_formal", "covered_informal", "covered_vulnerable")
EFFECTS = ("corrected", "late", "backdated", "new_period")
# level -> (published table, its key column; the city has none)
LEVEL_TABLES = {
    "city": ("coverage_city_year", None),
    "sector": ("coverage_sector_year", "sector"),
    "district": ("coverage_district_year", "district"),
}
# The figures besides the counts that move a rate: stated where P0 and P1 differ.
RATE_INPUTS = {"city": ("workforce", "target_rate"), "sector": ("workforce", "workforce_formal", "target_rate")}

Counts = dict[tuple[str, str, str], int]  # (level, key, measure) -> persons


@dataclass(frozen=True)
class BridgeRow:
    level: str
    key: str  # "" for the city
    measure: str
    p0: int
    corrected: int | None  # None: not known (a publication predates the record of files)
    late: int | None
    backdated: int | None
    new_period: int | None
    p1: int

    def effects(self) -> dict[str, int | None]:
        return {effect: getattr(self, effect) for effect in EFFECTS}


@dataclass(frozen=True)
class FileBehind:
    """A file behind an effect: re-delivered (corrected), late, or newer (backdated)."""

    effect: str
    file_name: str
    kind: str
    extract_date: date | None
    versions: int  # rows (account or employer versions) of the version in force at P1
    replaced: int | None = None  # corrected: rows of the version P0 counted
    withdrawn: bool = False  # corrected: a rejected re-delivery left no version in force

    @property
    def size(self) -> int:
        return max(self.versions, self.replaced or 0)


@dataclass(frozen=True)
class RateInput:
    """Workforce or target of the year as published by P0 and by P1, where they differ."""

    level: str
    key: str
    name: str
    p0: float | int | None
    p1: float | int | None


@dataclass(frozen=True)
class Explanation:
    year: int
    p0: PublishedRecord
    p1: PublishedRecord
    ref_date0: date | None  # the year's reference date as published (None: not published)
    ref_date1: date | None
    rows: tuple[BridgeRow, ...]
    files: tuple[FileBehind, ...] = ()
    rate_inputs: tuple[RateInput, ...] = ()
    unknown: str | None = None  # why the effects cannot be told apart
    problems: tuple[str, ...] = field(default=())

    def row(self, level: str, key: str = "", measure: str = "covered") -> BridgeRow:
        return next(r for r in self.rows if (r.level, r.key, r.measure) == (level, key, measure))


def explain(
    con: duckdb.DuckDBPyConnection, year: int, p0: PublishedRecord, p1: PublishedRecord,
    levels: tuple[str, ...] = LEVELS, memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT,
) -> Explanation:
    """The bridge of ``year`` from publication ``p0`` to ``p1`` (``p0`` not later).

    ``con`` is a warehouse connection, read-only or the writer's; nothing in the warehouse
    is written (the states are computed in a scratch in-memory database, with `memory_limit`
    beside a read-only connection: the reader's).
    """
    return explain_years(con, [year], p0, p1, levels, memory_limit)[0]


def explain_years(
    con: duckdb.DuckDBPyConnection, years: list[int], p0: PublishedRecord, p1: PublishedRecord,
    levels: tuple[str, ...] = LEVELS, memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT,
) -> list[Explanation]:
    """The bridges of several years between the same two publications: each state's current
    versions of accounts and employers are computed once for all the years."""
    if p0.published_at > p1.published_at:
        raise ExplainError(f"publication {p0.run_id} is later than {p1.run_id}: give the earlier one first")
    published = {year: _published(con, year, p0, p1) for year in years}
    for year, (_, _, ref0, ref1) in published.items():
        if ref0 is None and ref1 is None:
            raise ExplainError(f"year {year} was published neither by {p0.run_id} (as of {p0.as_of}) "
                               f"nor by {p1.run_id} (as of {p1.as_of})")
    rate_inputs = {year: tuple(_rate_inputs(con, p0.run_id, p1.run_id, year, levels)) for year in years}

    unknown = _unknown(con, p0, p1)
    if unknown:
        return [
            Explanation(year, p0, p1, ref0, ref1,
                        tuple(BridgeRow(*key, counts0.get(key, 0), None, None, None, None, counts1.get(key, 0))
                              for key in _keys(levels, counts0, counts1)),
                        rate_inputs=rate_inputs[year], unknown=unknown)
            for year, (counts0, counts1, ref0, ref1) in published.items()
        ]

    versions0 = {v.file_name: v for v in files_in_force(con, p0.run_id)}
    versions1 = {v.file_name: v for v in files_in_force(con, p1.run_id)}
    kept0 = [versions1[name] for name in versions0 if name in versions1]  # S1: P0's files as at P1
    arrived = [v for name, v in versions1.items() if name not in versions0]
    late = [v for v in arrived if p0.as_of is not None and v.extract_date <= p0.as_of]
    newer = [v for v in arrived if v not in late]
    states = (  # S0..S4: the file versions and the as_of they are computed at
        (list(versions0.values()), p0.as_of),
        (kept0, p0.as_of),
        (kept0 + late, p0.as_of),
        (kept0 + late + newer, p0.as_of),
        (list(versions1.values()), p1.as_of),
    )
    with _Sandbox(con, memory_limit) as sandbox:
        # state by state, every year: a state's current versions are built once
        computed = [{year: sandbox.counts(versions, as_of, year) for year in years} for versions, as_of in states]
        files = tuple(_files_behind(sandbox, versions0, versions1, late, newer))
    explanations = []
    for year, (counts0, counts1, ref0, ref1) in published.items():
        state_counts = [by_year[year] for by_year in computed]
        rows = tuple(
            BridgeRow(*key, counts0.get(key, 0),
                      *(later.get(key, 0) - earlier.get(key, 0) for earlier, later in zip(state_counts, state_counts[1:])),
                      counts1.get(key, 0))
            for key in _keys(levels, counts0, counts1, *state_counts)
        )
        problems = tuple(
            problem for problem in (
                _mismatch("S0", p0, state_counts[0], counts0, levels),
                _mismatch("S4", p1, state_counts[-1], counts1, levels),
            ) if problem
        )
        explanations.append(Explanation(year, p0, p1, ref0, ref1, rows, files, rate_inputs[year], None, problems))
    return explanations


def _published(con: duckdb.DuckDBPyConnection, year: int, p0: PublishedRecord, p1: PublishedRecord):
    """The year's counts and reference date as each publication published them."""
    return (_published_counts(con, p0.run_id, year), _published_counts(con, p1.run_id, year),
            _published_ref_date(con, p0.run_id, year), _published_ref_date(con, p1.run_id, year))


def _keys(levels: tuple[str, ...], *counts: Counts) -> list[tuple[str, str, str]]:
    """Every (level, key, measure) of the asked levels in any of ``counts``, in table order."""
    return sorted({key for found in counts for key in found if key[0] in levels}, key=_row_order)


class _Sandbox:
    """A scratch in-memory database that sees the warehouse, with the coverage models ready to
    run over a chosen set of file versions and a pinned as_of.

    Beside a read-only connection (a reader: the command, the report) it is a DuckDB of its
    own that attaches the warehouse file read-only; beside the writer's connection (DuckDB lets
    no other instance attach the file then) it is attached to that connection's database.
    """

    def __init__(self, warehouse: duckdb.DuckDBPyConnection, memory_limit: str) -> None:
        [(catalog, path, read_only)] = warehouse.execute(
            "select database_name, path, readonly from duckdb_databases() where database_name = current_database()"
        ).fetchall()
        if read_only:
            self.con, self.catalog, self._beside = duckdb.connect(), "warehouse", None
            self.con.execute("set enable_progress_bar = false")
            self.con.execute(f"set memory_limit = '{memory_limit}'")  # the reader's, for its own DuckDB
            self.con.execute(f"attach {_literal(str(Path(path)))} as {self.catalog} (read_only)")
        else:
            self.con, self.catalog = warehouse.cursor(), catalog
            self._beside = f"explain_{uuid.uuid4().hex}"
            self.con.execute(f"attach ':memory:' as {self._beside}")
            self.con.execute(f"use {self._beside}")
        for schema in ("raw", "audit", "ref", "staging", "core", "mart"):
            self.con.execute(f"create schema {schema}")
        for (table,) in self.con.execute(
            "select table_name from duckdb_tables() where database_name = ? and schema_name = 'ref'",
            [self.catalog],
        ).fetchall():
            self.con.execute(f"create view ref.{table} as select * from {_quoted(self.catalog)}.ref.{table}")
        self.con.execute(
            "create table main.state_files (file_name varchar, kind varchar, extract_date date, sha256 varchar)"
        )
        for kind in KINDS:
            self.con.execute(
                f"""
                create view raw.{kind} as
                select kept.* from ({kept_rows(kind, _quoted(self.catalog))}) as kept
                semi join main.state_files using (file_name, sha256)
                """
            )
        self.con.execute(
            "create view audit.extract_files as"
            f" select file_name, kind, extract_date, sha256, '{LOADED}' as status from main.state_files"
        )
        self.models = models_behind({f"mart.{table}" for table, _ in LEVEL_TABLES.values()}, load_models())
        self._computed: dict[tuple[frozenset[FileVersion], date | None, int], Counts] = {}
        self._built_files: frozenset[FileVersion] | None = None
        self._following_as_of = _reading("core.as_of", self.models)

    def __enter__(self) -> "_Sandbox":
        return self

    def __exit__(self, *_) -> None:
        if self._beside:
            self.con.execute(f"use {_quoted(self.catalog)}")
            self.con.execute(f"detach {self._beside}")
        self.con.close()

    def counts(self, versions: list[FileVersion], as_of: date | None, year: int) -> Counts:
        """The coverage counts of ``year`` that the models give for these file versions with
        as_of pinned (so ref(year) = min(year-12-31, as_of)). A state equal to one already
        computed is not computed again; after a state of the same files, only the models that
        follow as_of run again (the current versions of accounts and employers stay)."""
        files = frozenset(versions)
        state = (files, as_of, year)
        if state not in self._computed:
            models = self.models
            if files == self._built_files:
                models = [model for model in models if model.relation in self._following_as_of]
            else:
                self.con.execute("delete from main.state_files")
                self.con.execute(
                    "insert into main.state_files select unnest($names), unnest($kinds), unnest($dates), unnest($sha256s)",
                    {"names": [v.file_name for v in versions], "kinds": [v.kind for v in versions],
                     "dates": [v.extract_date for v in versions], "sha256s": [v.sha256 for v in versions]},
                )
            run_models(self.con, [self._pinned(model, as_of, year) for model in models])
            self._built_files = files
            self._computed[state] = _read_counts(self.con, "mart.{table} where year = ?", [year])
        return self._computed[state]

    @staticmethod
    def _pinned(model: Model, as_of: date | None, year: int) -> Model:
        """core.as_of fixed to the state's date; core.reporting_years cut to the one year
        (its other rows only cost time: every year's figures are computed apart)."""
        if model.relation == "core.as_of":
            pinned = "null" if as_of is None else f"date '{as_of.isoformat()}'"
            return Model(model.layer, model.name, f"select {pinned}::date as as_of")
        if model.relation == "core.reporting_years":
            return Model(model.layer, model.name, f"select * from (\n{model.sql.strip().rstrip(';')}\n) where year = {int(year)}")
        return model

    def version_sizes(self, versions: list[FileVersion]) -> dict[FileVersion, int]:
        """Rows each version brought (kept in raw.* or raw.superseded_*)."""
        sizes = {}
        for kind in KINDS:
            wanted = [v for v in versions if v.kind == kind]
            if not wanted:
                continue
            found = dict(self.con.execute(
                f"""
                select file_name || '/' || sha256, count(*)
                from ({kept_rows(kind, _quoted(self.catalog))})
                where list_contains($wanted, file_name || '/' || sha256)
                group by all
                """,
                {"wanted": [f"{v.file_name}/{v.sha256}" for v in wanted]},
            ).fetchall())
            sizes |= {v: found.get(f"{v.file_name}/{v.sha256}", 0) for v in wanted}
        return sizes


def _reading(relation: str, models: list[Model]) -> set[str]:
    """``relation`` and every model that reads it, directly or through others."""
    reading = {relation}
    for model in models:  # in running order: a model comes after those it reads
        if model.depends_on() & reading:
            reading.add(model.relation)
    return reading


def _files_behind(
    sandbox: _Sandbox, versions0: dict[str, FileVersion], versions1: dict[str, FileVersion],
    late: list[FileVersion], newer: list[FileVersion],
) -> list[FileBehind]:
    replaced = [(v, versions1.get(name)) for name, v in versions0.items() if versions1.get(name) != v]
    sizes = sandbox.version_sizes(
        [v for pair in replaced for v in pair if v is not None] + late + newer
    )
    files = [
        FileBehind("corrected", old.file_name, old.kind, old.extract_date,
                   sizes[new] if new else 0, sizes[old], withdrawn=new is None)
        for old, new in replaced
    ]
    # a header-only delivery (a day without changes) is behind nothing
    files += [FileBehind("late", v.file_name, v.kind, v.extract_date, sizes[v]) for v in late if sizes[v]]
    files += [FileBehind("backdated", v.file_name, v.kind, v.extract_date, sizes[v]) for v in newer if sizes[v]]
    return sorted(files, key=lambda f: (EFFECTS.index(f.effect), -f.size, f.file_name))


def _read_counts(con: duckdb.DuckDBPyConnection, source: str, parameters: list) -> Counts:
    """(level, key, measure) -> count from the three tables; ``source`` names the table
    (``{table}``) and its filter."""
    counts: Counts = {}
    for level, (table, key_column) in LEVEL_TABLES.items():
        key = key_column or "''"
        rows = con.execute(
            f"select {key}, {', '.join(MEASURES)} from {source.format(table=table)}", parameters
        ).fetchall()
        for row in rows:
            for measure, value in zip(MEASURES, row[1:]):
                counts[(level, row[0], measure)] = int(value)
    return counts


def _published_counts(con: duckdb.DuckDBPyConnection, run_id: str, year: int) -> Counts:
    return _read_counts(con, "history.{table} where run_id = ? and year = ?", [run_id, year])


def _published_ref_date(con: duckdb.DuckDBPyConnection, run_id: str, year: int) -> date | None:
    found = con.execute(
        "select ref_date from history.coverage_city_year where run_id = ? and year = ?", [run_id, year]
    ).fetchall()
    return found[0][0] if found else None


def _rate_inputs(con, run0: str, run1: str, year: int, levels: tuple[str, ...]) -> list[RateInput]:
    inputs = []
    for level, names in RATE_INPUTS.items():
        if level not in levels:
            continue
        table, key_column = LEVEL_TABLES[level]
        key = key_column or "''"
        rows = con.execute(
            f"""
            select coalesce(p0.k, p1.k), {', '.join(f'p0.{n}, p1.{n}' for n in names)}
            from (select {key} as k, * from history.{table} where run_id = $run0 and year = $year) as p0
            full join (select {key} as k, * from history.{table} where run_id = $run1 and year = $year) as p1
                using (k)
            order by 1
            """,
            {"run0": run0, "run1": run1, "year": year},
        ).fetchall()
        for row in rows:
            for index, name in enumerate(names):
                before, after = row[1 + 2 * index], row[2 + 2 * index]
                if before != after:
                    inputs.append(RateInput(level, row[0], name, before, after))
    return inputs


def _unknown(con: duckdb.DuckDBPyConnection, p0: PublishedRecord, p1: PublishedRecord) -> str | None:
    """Why the effects cannot be computed: a publication from before the warehouse recorded
    the files in force (and kept the rows of replaced versions)."""
    missing = [p for p in (p0, p1) if recorded_sequence(con, p.run_id) is None]
    if not missing:
        return None
    first = con.execute(
        "select run_id, as_of from history.publication_files join history.publications using (run_id)"
        " order by sequence limit 1"
    ).fetchall()
    since = (f"kept since publication {first[0][0]} (as of {first[0][1]})" if first
             else "not kept by any publication yet")
    names = " and ".join(f"{p.run_id} (as of {p.as_of})" for p in missing)
    return (f"{names} predates the record of the files in force ({since}): which deliveries moved "
            "the figures is not known; only P0 and P1 are shown")


def _mismatch(state: str, publication: PublishedRecord, computed: Counts, published: Counts,
              levels: tuple[str, ...]) -> str | None:
    differing = sorted(
        (key for key in set(computed) | set(published)
         if key[0] in levels and computed.get(key, 0) != published.get(key, 0)),
        key=_row_order,
    )
    if not differing:
        return None
    level, key, measure = differing[0]
    return (f"{state} does not reproduce the counts {publication.run_id} published on {len(differing)} row(s), "
            f"e.g. {level} {key} {measure}: published {published.get(differing[0], 0)}, "
            f"recomputed {computed.get(differing[0], 0)} (reference data changed since?); "
            "the bridge does not add up on those rows")


def _row_order(key: tuple[str, str, str]) -> tuple:
    level, name, measure = key
    return LEVELS.index(level), name, MEASURES.index(measure)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
