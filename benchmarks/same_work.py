"""The same work as Cakupan in plain DuckDB, in this (fresh) process; its counts as JSON.

Usage: python benchmarks/same_work.py LANDING_DIR OUT_JSON [KEY]

Every rule of the suites (`expectations/*.json`, turned into SQL here, so the rules stay
defined once) and the structural ones (a row of the wrong field count is bad), identical
copies of a row within a file collapsed, nik and kpj replaced by their HMAC-SHA256
(the expression Cakupan uses), the passing rows written to a DuckDB file on disk, then
the published counts of baseline.sql over those rows. One pass per kind, no audit, no
Parquet, no orchestration. The harness (run.py) starts it like baseline.py.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path

import duckdb

from cakupan.ingest.extracts import SPEC_COLUMNS
from cakupan.ingest.validate.re2 import re2_pattern
from cakupan.warehouse.pii import PiiKey, hmac_sql

BENCHMARKS = Path(__file__).resolve().parent
SUITES = BENCHMARKS.parent / "expectations"
ISO_DAY_SHAPE = "^[0-9]{4}-[0-9]{2}-[0-9]{2}"
# the typed columns baseline.sql counts from, as Cakupan's raw.* types them
TYPED = {
    "employers": {"npp": "integer", "kbli": "varchar", "updated_at": "timestamp"},
    "enrolments": {
        "kpj": "varchar", "nik": "varchar", "npp": "integer", "segment": "varchar", "kbli": "varchar",
        "contribution_source": "varchar", "start_date": "date", "end_date": "date", "status": "varchar",
        "updated_at": "timestamp",
    },
}


def text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def regex(column: str, pattern: str) -> str:
    return f"regexp_matches({column}, {text(re2_pattern(pattern))})"


def values(items: list) -> str:
    return ", ".join(text(str(item)) for item in items)


def fails(expectation: dict) -> str:
    """SQL true where a row breaks the expectation, as GX's SQL engine decides it."""
    kind, kwargs = expectation["type"], expectation["kwargs"]
    column = f'"{kwargs["column"]}"' if "column" in kwargs else None
    a, b = (f'"{kwargs[name]}"' if name in kwargs else None for name in ("column_A", "column_B"))
    if kind == "expect_column_values_to_not_be_null":
        return f"{column} is null"
    if kind == "expect_column_values_to_match_regex":
        return f"{column} is not null and not {regex(column, kwargs['regex'])}"
    if kind == "expect_column_values_to_not_match_regex":
        return f"{column} is not null and {regex(column, kwargs['regex'])}"
    if kind == "expect_column_values_to_be_in_set":
        return f"{column} is not null and {column} not in ({values(kwargs['value_set'])})"
    if kind == "expect_column_values_to_not_match_regex_list":
        return f"{column} is not null and ({' or '.join(regex(column, r) for r in kwargs['regex_list'])})"
    if kind == "expect_column_values_to_match_regex_list":
        joined = (" and " if kwargs.get("match_on", "any") == "all" else " or ").join(
            regex(column, r) for r in kwargs["regex_list"])
        return f"{column} is not null and not ({joined})"
    if kind == "expect_column_pair_values_a_to_not_be_after_day_b":
        return (f"{a} is not null and {b} is not null and {regex(f'left({a}, 10)', ISO_DAY_SHAPE)} "
                f"and left({a}, 10) > {b}")
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        operator = ">=" if kwargs.get("or_equal") else ">"
        return f"{a} is not null and {b} is not null and not ({a} {operator} {b})"
    if kind == "expect_column_pair_values_b_to_meet_rule_when_a_in_set":
        checked = f"coalesce({a} in ({values(kwargs['a_value_set'])}), false)"
        if kwargs.get("b_checked_when_in") is not None:
            checked += f" and coalesce({b} in ({values(kwargs['b_checked_when_in'])}), false)"
        rule = {
            "be_null": f"{b} is not null",
            "not_be_null": f"{b} is null",
            "be_in_set": f"{b} is not null and {b} not in ({values(kwargs.get('value_set') or [])})",
            "not_be_in_set": f"{b} is not null and {b} in ({values(kwargs.get('value_set') or [])})",
            "not_match_regex": f"{b} is not null and {regex(b, kwargs.get('regex') or '')}",
        }[kwargs["b_must"]]
        return f"{checked} and {rule}"
    if kind == "expect_compound_columns_to_be_unique":
        columns = ", ".join(f'"{c}"' for c in kwargs["column_list"])
        present = " and ".join(f'"{c}" is not null' for c in kwargs["column_list"])
        return f"{present} and count(*) over (partition by {columns}) > 1"
    raise ValueError(f"{kind}: no SQL for this expectation type in the same-work baseline")


def kind_sql(kind: str, landing: Path) -> str:
    """One pass over the files of `kind`: read, collapse copies, check, hash, write."""
    suite = json.loads((SUITES / f"{kind}.json").read_text(encoding="utf-8"))
    spec = SPEC_COLUMNS[kind]
    windowed = [fails(e) for e in suite["expectations"] if e["type"] == "expect_compound_columns_to_be_unique"]
    row_rules = [fails(e) for e in suite["expectations"] if e["type"] != "expect_compound_columns_to_be_unique"]
    typed = ", ".join(
        f"{hmac_sql(column)} as {column}" if column in ("kpj", "nik") else f'"{column}"::{type_} as "{column}"'
        for column, type_ in TYPED[kind].items()
    )
    glob = text(str(landing / f"{kind}_*.csv*"))
    return f"""
        create table out.{kind} as
        with read as (
            select {', '.join(f'nullif("{c}", {text("")}) as "{c}"' for c in spec)},
                   filename as _file, file_index,
                   strftime(strptime(regexp_extract(filename, '_([0-9]{{8}})[.]csv', 1), '%Y%m%d'), '%Y-%m-%d')
                       as _extract_date
            from read_csv({glob}, header = true, auto_detect = false, filename = true,
                          columns = {{{', '.join(f"{text(c)}: 'varchar'" for c in spec)}}},
                          delim = ',', quote = '"', escape = '"', store_rejects = true)
        ),
        kept as (
            select * from read
            qualify row_number() over (partition by _file, {', '.join(f'"{c}"' for c in spec)}) = 1
        ),
        checked as (
            select *, ({' or '.join(f'({rule})' for rule in windowed) or 'false'}) as _conflicting
            from kept
        )
        select {typed}, file_index
        from checked
        where not _conflicting and not ({' or '.join(f'coalesce({rule}, false)' for rule in row_rules)})
    """


def counts(landing: Path, key: PiiKey) -> list[dict]:
    def validate_and_store(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
        con.execute("set enable_progress_bar = false")
        # what Cakupan's processes were allowed together when issue 17 fixed this baseline (a 2 GB
        # warehouse, 1 GB per staging worker), kept so that ratios stay comparable across runs;
        # DuckDB's default, 80% of the machine, passed the harness's 8 GB cap at scale 30
        con.execute("set memory_limit = '4GB'")
        con.execute(f"attach {text(str(folder / 'passing.duckdb'))} as out")
        for kind in SPEC_COLUMNS:
            con.execute(kind_sql(kind, landing.resolve()), key.sql_parameters() if kind == "enrolments" else {})
        con.execute("create temp view employer_source as select * from out.employers")
        con.execute("create temp view enrolment_source as select * from out.enrolments")

    return _floor().coverage_counts(landing, validate_and_store)


def _floor():
    """baseline.py, beside this file (benchmarks/ is no package)."""
    spec = importlib.util.spec_from_file_location("benchmark_baseline", BENCHMARKS / "baseline.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    landing, out = Path(sys.argv[1]), Path(sys.argv[2])
    key = PiiKey((sys.argv[3] if len(sys.argv) > 3 else "cakupan-benchmark-key-not-for-production").encode())
    started = time.perf_counter()
    coverage = counts(landing, key)
    out.write_text(json.dumps({"sql_seconds": time.perf_counter() - started, "coverage": coverage}))


if __name__ == "__main__":
    main()
