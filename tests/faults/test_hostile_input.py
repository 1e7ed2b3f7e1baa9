"""Hostile names, links and headers in the landing: no raw identifier anywhere, no file read from
outside the landing, only ASCII-digit names, and skipped files counted by why."""

import gzip
import os

from cakupan.warehouse.connection import connect

NIK, KPJ = "3573021906710001", "19600112648"


def everything_text(warehouse) -> str:
    """Every text value of every table, as one string."""
    with connect(warehouse, read_only=True) as con:
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type in ('VARCHAR', 'VARCHAR[]')"
        ).fetchall()
        return "\n".join(
            str(con.execute(f'select list("{c}"::varchar) from "{s}"."{t}"').fetchone()[0]) for s, t, c in columns
        )


def flow_run_logs(prefect_api, warehouse) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    with connect(warehouse, read_only=True) as con:
        run_ids = [run_id for (run_id,) in con.execute("select run_id from audit.runs").fetchall()]
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=run_ids)))
    return "\n".join(log.message for log in logs)


def test_identifiers_in_header_names_are_masked_everywhere(cakupan_command, prefect_api, landing, tmp_path):
    drifting = landing / "enrolments_20250305.csv"
    lines = drifting.read_text().splitlines()
    drifting.write_text("\n".join([lines[0] + f",{KPJ},{NIK}"] + [line + ",x,y" for line in lines[1:]]) + "\n")
    (landing / "enrolments_20250306.csv").write_text(f"kpj,nik,{NIK},{NIK}\n")
    warehouse = tmp_path / "w" / "cakupan.duckdb"

    result = cakupan_command("nightly", "--as-of", "2025-03-12", "--landing", landing, "--warehouse", warehouse)

    assert result.returncode == 1
    shown = result.stdout + result.stderr + everything_text(warehouse) + flow_run_logs(prefect_api, warehouse)
    assert "schema drift" in shown and "named twice" in shown and "3573" in shown
    assert NIK not in shown and KPJ not in shown


def test_links_out_of_the_landing_are_rejected_unopened_and_non_ascii_digits_ignored(
    cakupan_command, landing, tmp_path
):
    outside = tmp_path / "outside"
    outside.mkdir()
    os.mkfifo(outside / "pipe")  # opening it for reading would hang the run
    (outside / "copy.csv").write_bytes((landing / "employers_20250312.csv").read_bytes())
    (landing / "employers_20250312.csv").unlink()
    (landing / "employers_20250312.csv").symlink_to(outside / "copy.csv")
    (landing / "enrolments_20250313.csv").symlink_to(outside / "pipe")
    (landing / "employers_20250313.csv").symlink_to(landing / "employers_20250311.csv")  # inside: fine
    (landing / "employers_２０２５１１１７.csv").write_bytes((landing / "employers_20250311.csv").read_bytes())
    warehouse = tmp_path / "w" / "cakupan.duckdb"

    result = cakupan_command("nightly", "--as-of", "2025-03-13", "--landing", landing, "--warehouse", warehouse,
                             timeout=120)

    assert result.returncode == 1, result.stderr
    with connect(warehouse, read_only=True) as con:
        outcomes = dict(con.execute("select file_name, status || ' ' || coalesce(reason, '') "
                                    "from audit.extract_files").fetchall())
    assert outcomes["employers_20250312.csv"].startswith("REJECTED link: points outside the landing")
    assert outcomes["enrolments_20250313.csv"].startswith("REJECTED link: points outside the landing")
    assert outcomes["employers_20250313.csv"] == "LOADED "
    assert "employers_２０２５１１１７.csv" not in outcomes
    assert "ignored 1 name(s) (not an extract name, or a folder): employers_２０２５１１１７.csv" in result.stderr


def test_skipped_files_are_counted_apart_loaded_and_rejected(cakupan_command, landing, tmp_path):
    (landing / "employers_20250305.csv").write_text("npp,name\n12345678,PT Tanpa Kolom\n")
    warehouse = tmp_path / "w" / "cakupan.duckdb"
    args = ("nightly", "--as-of", "2025-03-12", "--landing", landing, "--warehouse", warehouse)
    assert cakupan_command(*args).returncode == 1

    again = cakupan_command(*args)

    assert again.returncode == 0, again.stderr
    words = " ".join(again.stderr.split())
    assert "skipped 23 file(s) already loaded with the same content" in words
    assert "skipped 1 file(s) already rejected with the same content: employers_20250305.csv" in words


def test_an_overlong_row_and_a_gzip_of_blank_lines_are_rejected_and_recorded(cakupan_command, landing, tmp_path):
    # issue 16, defects 4 and 5: a 50 MB field vanished from rows_read (the file LOADED); a
    # 22 KB gzip of rows between a million blank lines each took GBs and was never recorded.
    long_row = landing / "enrolments_20250305.csv"
    header, first, *rest = long_row.read_bytes().split(b"\n")
    fields = first.split(b",")
    fields[6] = b"JKK" * (17 * 1024 * 1024)  # programs
    long_row.write_bytes(b"\n".join([header, b",".join(fields), *rest]))
    rows_in_long = sum(1 for line in [first, *rest] if line)
    (landing / "employers_20250306.csv").unlink()  # header only: rows of the first day's
    header, *rows = [line for line in (landing / "employers_20250301.csv").read_bytes().split(b"\n") if line]
    bomb = landing / "employers_20250306.csv.gz"
    bomb.write_bytes(gzip.compress(header + b"\n" + (b"\n" * 1_000_000).join(rows[:5]) + b"\n"))
    assert bomb.stat().st_size < 30_000
    warehouse = tmp_path / "w" / "cakupan.duckdb"
    args = ("nightly", "--as-of", "2025-03-12", "--landing", landing, "--warehouse", warehouse)

    result = cakupan_command(*args, timeout=240)

    assert result.returncode == 1, result.stderr
    with connect(warehouse, read_only=True) as con:
        outcomes = dict(con.execute("select file_name, status || ' ' || coalesce(reason, '') "
                                    "from audit.extract_files").fetchall())
        quarantined = con.execute("select count(*) from audit.quarantine where file_name in "
                                  "('enrolments_20250305.csv', 'employers_20250306.csv.gz')").fetchone()[0]
    assert outcomes["enrolments_20250305.csv"] == (
        f"REJECTED rows: the file has {rows_in_long} data rows, the CSV reader accounted for "
        f"{rows_in_long - 1} (a row it dropped, e.g. longer than its line limit)"
    )
    blank_lines = 4 * 999_999  # the first line break of each gap ends a row
    assert outcomes["employers_20250306.csv.gz"] == (
        f"REJECTED circuit breaker: {blank_lines} of {blank_lines + 5} data rows are blank lines "
        "(more than 10 and more than 5%)"
    )
    assert quarantined == 0
    words = " ".join(cakupan_command(*args).stderr.split())  # recorded: not retried
    assert "skipped 2 file(s) already rejected with the same content" in words
