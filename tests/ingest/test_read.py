import gzip
import json
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest

from cakupan.config import worker_limits
from cakupan.ingest.discover import Slice
from cakupan.ingest.extracts import SPEC_COLUMNS
from cakupan.ingest.read import ROWS_TABLE, read_slice, scratch_database
from cakupan.ingest.read.masking import masked_record
from cakupan.ingest.read.rows import FIELD_COUNT_RULE, META_COLUMNS, read_rows

DAY = date(2025, 1, 2)


@pytest.fixture
def con(tmp_path):
    with scratch_database(tmp_path) as connection:
        yield connection


def read(con, kind, *paths, part=0, parts=1):
    """The staged rows as a frame in read order, with what reading found per file."""
    staged = read_rows(con, kind, list(paths), {path.name: DAY for path in paths}, part, parts, worker_limits())
    columns = ", ".join(f'"{column}"' for column in (*SPEC_COLUMNS[kind], *META_COLUMNS))
    frame = con.sql(f"select {columns} from {ROWS_TABLE} order by _id").df()
    return SimpleNamespace(frame=frame, files=staged.files, bad_rows=staged.bad_rows, rows=staged.rows)


def test_columns_stay_text_with_leading_zeros(con, write_extract, enrolment):
    path = write_extract("enrolments_20250102.csv", [enrolment(7, npp="00012345", kbli="01111")])
    batch = read(con, "enrolments", path)
    row = batch.frame.iloc[0]
    assert row["kpj"] == "00000000007"
    assert row["npp"] == "00012345"
    assert row["kbli"] == "01111"
    assert row["wage"] == "4000000"
    assert list(batch.frame.columns) == [*SPEC_COLUMNS["enrolments"], "_file", "_row", "_extract_date"]
    assert row["_file"] == path.name and row["_row"] == 1 and row["_extract_date"] == "2025-01-02"


def test_empty_fields_are_null(con, write_extract, enrolment):
    path = write_extract("enrolments_20250102.csv", [enrolment(1, end_date="", kbli="")])
    path.write_text(path.read_text().replace(",,", ',"",'))  # a quoted empty field too
    frame = read(con, "enrolments", path).frame
    assert frame["kbli"].isna().all() and frame["end_date"].isna().all()


@pytest.mark.parametrize("newline,bom", [("\r\n", False), ("\n", True), ("\r\n", True)])
def test_bom_and_crlf(con, write_extract, employer, newline, bom):
    path = write_extract("employers_20250102.csv", [employer(1), employer(2)], newline=newline, bom=bom)
    batch = read(con, "employers", path)
    assert batch.files[path.name].rejected_reason is None
    assert list(batch.frame["npp"]) == ["00000001", "00000002"]
    assert list(batch.frame["updated_at"]) == ["2025-01-02 08:00:00"] * 2


def test_gzip_read_and_broken_gzip_rejected(con, write_extract, employer):
    good = write_extract("employers_20250102.csv.gz", [employer(1)])
    broken = write_extract("employers_20250103.csv.gz", [employer(2)])
    broken.write_bytes(broken.read_bytes()[:-12])
    batch = read(con, "employers", good, broken)
    assert list(batch.frame["npp"]) == ["00000001"]
    assert batch.files[good.name].rows_read == 1
    assert batch.files[broken.name].rejected_reason.startswith("gzip:")


def test_invalid_utf8_rejected_naming_the_line(con, write_extract, employer):
    path = write_extract("employers_20250102.csv", [employer(1), employer(2)])
    path.write_bytes(path.read_bytes().replace(b"PT Contoh 2", b"PT Contoh \xff"))
    batch = read(con, "employers", path)
    assert batch.files[path.name].rejected_reason.startswith("encoding: not valid UTF-8")
    assert "line 3" in batch.files[path.name].rejected_reason
    assert batch.frame.empty


def test_utf16_rejected_as_such(con, write_extract, employer):
    path = write_extract("employers_20250102.csv", [employer(1)])
    path.write_bytes(path.read_text().encode("utf-16"))
    assert read(con, "employers", path).files[path.name].rejected_reason.startswith("encoding: UTF-16")


def test_missing_column_rejected_extra_column_is_drift(con, write_extract, employer):
    missing = write_extract(
        "employers_20250102.csv", [employer(1)], header=[c for c in SPEC_COLUMNS["employers"] if c != "kbli"]
    )
    drift = write_extract(
        "employers_20250103.csv", [employer(2) | {"phone": "0341", "filename": "x.csv"}],
        header=["phone", *reversed(SPEC_COLUMNS["employers"]), "filename"],
    )
    batch = read(con, "employers", missing, drift)
    assert batch.files[missing.name].rejected_reason == "header: required column(s) missing: kbli"
    assert batch.files[drift.name].rejected_reason is None
    assert batch.files[drift.name].schema_drift == ("phone", "filename")
    assert "phone" not in batch.frame.columns and "filename" not in batch.frame.columns
    assert list(batch.frame["npp"]) == ["00000002"]


def test_empty_file_and_duplicate_header_rejected(con, tmp_landing, write_extract, employer):
    empty = tmp_landing / "employers_20250102.csv"
    empty.write_bytes(b"")
    doubled = write_extract(
        "employers_20250103.csv", [], header=[*SPEC_COLUMNS["employers"], "npp"]
    )
    batch = read(con, "employers", empty, doubled)
    assert batch.files[empty.name].rejected_reason.startswith("header: missing")
    assert batch.files[doubled.name].rejected_reason == "header: column(s) named twice: npp"


def test_header_only_file_is_a_valid_empty_delta(con, write_extract):
    path = write_extract("employers_20250102.csv", [])
    batch = read(con, "employers", path)
    assert batch.files[path.name].rejected_reason is None
    assert batch.files[path.name].rows_read == 0
    assert batch.frame.empty


def test_unterminated_quote_rejects_the_file(con, write_extract, employer):
    path = write_extract("employers_20250102.csv", [employer(1), employer(2)])
    path.write_text(path.read_text().replace("PT Contoh 2", '"PT Contoh 2'))
    other = write_extract("employers_20250103.csv", [employer(3)])
    batch = read(con, "employers", path, other)
    assert batch.files[path.name].rejected_reason.startswith("CSV structure:")
    assert "row 2" in batch.files[path.name].rejected_reason
    assert list(batch.frame["npp"]) == ["00000003"]


def test_field_count_rows_are_bad_rows_with_their_row_numbers(con, write_extract, enrolment):
    header = list(SPEC_COLUMNS["enrolments"])
    rows = [
        enrolment(1, programs="JKK|JKM"),
        [*enrolment(2).values()][:-1],                      # one field short
        enrolment(3, kbli="", name_note="x") | {"programs": "JKK\nJKM"},  # quoted newline
        [*enrolment(4).values(), "extra"],                  # one field too many
        enrolment(5),
    ]
    path = write_extract("enrolments_20250102.csv", rows, header=header, newline="\r\n")
    batch = read(con, "enrolments", path)
    assert list(batch.frame["_row"]) == [1, 3, 5]
    assert list(batch.frame["kpj"]) == ["00000000001", "00000000003", "00000000005"]
    assert [(bad.row_number, bad.rules) for bad in batch.bad_rows] == [
        (2, [FIELD_COUNT_RULE]), (4, [FIELD_COUNT_RULE]),
    ]
    assert batch.files[path.name].rows_read == 5
    short, long = (json.loads(bad.record) for bad in batch.bad_rows)
    assert short["kpj"] == "0000*******" and short["nik"] == "3573************"
    assert "updated_at" not in short
    assert long["_extra_fields"] == ["extra"]
    assert "3573014501000002" not in batch.bad_rows[0].record


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_blank_line_between_rows_is_a_field_count_row(con, write_extract, employer, newline):
    path = write_extract("employers_20250102.csv", [employer(1), employer(2)], newline=newline)
    lines = path.read_bytes().decode().splitlines(keepends=True)
    # A blank line inside a quoted field is no blank row; trailing blank lines are no rows.
    lines[1] = lines[1].replace("PT Contoh 1", '"PT\n\nContoh 1"')
    path.write_bytes((lines[0] + lines[1] + newline + lines[2] + newline * 2).encode())
    batch = read(con, "employers", path)
    assert list(batch.frame["_row"]) == [1, 3]
    assert [bad.row_number for bad in batch.bad_rows] == [2]
    assert batch.files[path.name].rows_read == 3
    assert batch.frame["name"].iloc[0] == "PT\n\nContoh 1"


def test_identical_rows_collapse_and_are_counted(con, write_extract, employer):
    path = write_extract(
        "employers_20250102.csv",
        [employer(1), employer(2), employer(1), employer(1), employer(2, name="Other")],
    )
    other = write_extract("employers_20250103.csv", [employer(1)])
    batch = read(con, "employers", path, other)
    assert batch.files[path.name].rows_duplicate == 2
    assert batch.files[path.name].rows_read == 5
    assert batch.files[other.name].rows_duplicate == 0
    # The kept copy is the first; differing rows of one key stay for validation.
    assert list(zip(batch.frame["_file"], batch.frame["_row"])) == [
        (path.name, 1), (path.name, 2), (path.name, 5), (other.name, 1),
    ]


def test_many_files_with_different_column_orders_in_one_batch(con, write_extract, employer):
    forward = write_extract("employers_20250102.csv", [employer(1), employer(2)])
    backward = write_extract(
        "employers_20250103.csv", [employer(3)], header=list(reversed(SPEC_COLUMNS["employers"]))
    )
    batch = read(con, "employers", forward, backward)
    assert sorted(batch.frame["npp"]) == ["00000001", "00000002", "00000003"]
    assert batch.frame.set_index("npp").loc["00000003", "name"] == "PT Contoh 3"


def test_masked_record_masks_identifier_shaped_values_anywhere():
    record = json.loads(
        masked_record({"kpj": "01234567890", "nik": None, "npp": "3573014501000001", "name": "PT A"})
    )
    assert record == {"kpj": "0123*******", "nik": None, "npp": "3573************", "name": "PT A"}


def test_parts_of_a_file_hold_every_row_once_and_keys_whole(write_extract, employer, tmp_path):
    rows = [employer(n) for n in range(1, 60)] + [employer(7, name="Other"), ["00000099", "short"]]
    path = write_extract("employers_20250102.csv", rows)
    seen = []
    for part in range(3):
        with scratch_database(tmp_path) as con:
            batch = read(con, "employers", path, part=part, parts=3)
        assert batch.files[path.name].rows_read == 61
        assert len(batch.bad_rows) == (1 if part == 0 else 0)  # bad rows have no trusted key
        seen.append(list(zip(batch.frame["npp"], batch.frame["_row"])))
    assert all(seen)
    assert sorted(row for part in seen for _, row in part) == list(range(1, 61))
    parts_of_npp_7 = [n for n, part in enumerate(seen) if any(npp == "00000007" for npp, _ in part)]
    assert len(parts_of_npp_7) == 1


def test_parts_of_a_file_share_one_read_of_it(write_extract, employer, tmp_landing, tmp_path, monkeypatch):
    from cakupan.ingest.read import rows as rows_module

    file_rows = [employer(n) for n in range(1, 60)] + [employer(7, name="Other"), [], ["00000099", "short"]]
    path = write_extract("employers_20250102.csv", file_rows)
    inspected = []
    monkeypatch.setattr(rows_module, "inspect", lambda p, kind, limit: _counting_inspect(inspected, p, kind, limit))
    shared = tmp_path / "shared"

    def staged_parts(read_part):
        staged = []
        for part in range(3):
            with scratch_database(tmp_path / "rows") as con:
                found = read_part(con, part)
                staged.append((found, con.sql(f"select * from {ROWS_TABLE} order by _id").fetchall()))
        return staged

    alone = staged_parts(lambda con, part: read_rows(con, "employers", [path], {path.name: DAY}, part, 3))
    inspected.clear()
    together = staged_parts(
        lambda con, part: read_slice(con, tmp_landing, Slice("employers", (path.name,), part, 3), shared=shared)
    )

    assert inspected == [path]  # one read for the three parts
    assert together == alone
    assert [bad.row_number for bad in together[0][0].bad_rows] == [61, 62]
    assert list(shared.iterdir()) == []  # the last part removed the staging


def _counting_inspect(seen, path, kind, limit):
    from cakupan.ingest.read.checks import inspect

    seen.append(path)
    return inspect(path, kind, limit)


def test_an_undiscoverable_name_is_refused(con, tmp_landing):
    with pytest.raises(ValueError, match="employers_20250231.csv"):
        read_slice(con, tmp_landing, Slice("employers", ("employers_20250231.csv",)))


def test_a_workers_scratch_database_holds_its_own_memory_limit(monkeypatch, tmp_path):
    """Each worker process stages with this much, not the warehouse's share (memory adds up per worker)."""
    monkeypatch.setenv("CAKUPAN_DUCKDB_MEMORY_LIMIT", "3GB")
    monkeypatch.delenv("CAKUPAN_STAGING_MEMORY_LIMIT", raising=False)
    with scratch_database(tmp_path, worker_limits()) as con:
        default = con.execute("select current_setting('memory_limit')").fetchone()[0]
    monkeypatch.setenv("CAKUPAN_STAGING_MEMORY_LIMIT", "512MB")
    with scratch_database(tmp_path, worker_limits()) as con:
        set_here = con.execute("select current_setting('memory_limit')").fetchone()[0]
    assert (default, set_here) == ("244.1 MiB", "488.2 MiB")  # 256 MB and 512 MB as DuckDB shows them


@pytest.mark.slow
def test_a_row_longer_than_the_readers_limit_rejects_the_file_no_row_vanishes(con, write_extract, enrolment):
    # issue 16, defect 4: DuckDB's reader dropped a 50 MB row without a reject; the file
    # checks count rows apart from it, and a file whose counts differ is rejected.
    rows = [enrolment(n) for n in range(1, 6)]
    rows[2] = enrolment(3, programs="JKK" * (17 * 1024 * 1024))
    path = write_extract("enrolments_20250102.csv", rows)

    batch = read(con, "enrolments", path)

    assert batch.files[path.name].rejected_reason == (
        "rows: the file has 5 data rows, the CSV reader accounted for 4 "
        "(a row it dropped, e.g. longer than its line limit)"
    )
    assert batch.rows == 0 and batch.bad_rows == []


@pytest.mark.parametrize("gzipped", [False, True])
def test_a_million_blank_lines_reject_the_file_by_the_circuit_breaker_in_bounded_memory(
    con, tmp_landing, employer, write_extract, gzipped
):
    # issue 16, defect 5: a few rows separated by a million blank lines each (a 22 KB gzip)
    import resource

    name = "employers_20250102.csv" + (".gz" if gzipped else "")
    header = write_extract(name, []).read_bytes()
    header = gzip.decompress(header) if gzipped else header
    row = write_extract("employers_20250103.csv", [employer(1)]).read_bytes().split(b"\n", 1)[1]
    content = header + (b"\n" * 1_000_000).join([row] * 5)
    (tmp_landing / name).write_bytes(gzip.compress(content) if gzipped else content)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    batch = read(con, "employers", tmp_landing / name)

    reason = batch.files[name].rejected_reason
    assert reason.startswith("circuit breaker: ") and "are blank lines" in reason, reason
    assert batch.rows == 0 and batch.bad_rows == []
    # KiB: a list per blank line took GBs; the pass holds a chunk and runs of blank lines
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 300_000


def test_a_file_past_the_size_limit_is_rejected_naming_the_limit(con, write_extract, employer, monkeypatch):
    rows = [employer(n) for n in range(1, 200)]
    plain = write_extract("employers_20250102.csv", rows)
    packed = write_extract("employers_20250103.csv.gz", rows)
    monkeypatch.setenv("CAKUPAN_MAX_FILE_BYTES", str(plain.stat().st_size - 1))

    batch = read(con, "employers", plain, packed)

    assert batch.files[plain.name].rejected_reason == (
        f"size: more than {plain.stat().st_size - 1:,} bytes (CAKUPAN_MAX_FILE_BYTES, the limit per file)"
    )
    assert batch.files[packed.name].rejected_reason.startswith("size: more than ")
    assert "bytes decompressed" in batch.files[packed.name].rejected_reason
    assert batch.rows == 0


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 20])
def test_rows_are_counted_apart_from_the_reader_whatever_the_chunks(chunk):
    from cakupan.ingest.read.checks import _Rows

    content = (
        b'h1,h2\r\n'
        b'a,"multi\nline ""quoted"" \r\n\r\nfield"\n'  # row 1: line breaks inside quotes
        b'\n'  # row 2: blank
        b'\r\n'  # row 3: blank
        b'b,c\n'  # row 4
        b'"",\n'  # row 5: an empty quoted field is no blank line
        b'd,e'  # row 6: no final line break
        b'\n\n\r\n'  # trailing blank lines: no rows
    )
    rows = _Rows(len(content))
    for start in range(0, len(content), chunk):
        rows.feed(content[start:start + chunk])
    rows.finish()

    assert rows.data_rows == 6
    assert rows.runs() == ((2, 2),)


def test_the_scratch_database_is_private_within_the_runs_scratch_folder_and_removed_after(tmp_path):
    """Raw rows are staged where the run (and the next, after a kill) can find them, owner-only."""
    scratch = tmp_path / "scratch" / "run-1"
    with scratch_database(scratch) as con:
        (database,) = [file for (_, _, file) in con.execute("pragma database_list").fetchall() if file]
        folder = Path(database).parent
        assert folder.parent == scratch
        assert folder.stat().st_mode & 0o777 == 0o700
    assert not folder.exists() and scratch.is_dir()
