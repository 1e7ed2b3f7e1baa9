"""File versions: which were in force at each publication, and the rows of those no longer in force.

A version of a landed file is its (file_name, sha256). raw.* holds the rows of the versions in
force; when a re-delivery replaces a version (or a rejected one withdraws it), its rows move to
raw.superseded_* instead of being deleted, and each publication records which versions came
into or left force (history.file_version_changes). Together they let an explanation recompute
what any publication counted (cakupan.transforms.explain) without slowing the rebuild.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

KINDS = ("employers", "enrolments")
IN, OUT = "in", "out"
# A landed file's status in audit.extract_files: its rows in force (in raw.*), refused whole,
# or replaced by a later version (its rows in raw.superseded_*).
LOADED = "LOADED"
REJECTED = "REJECTED"
SUPERSEDED = "SUPERSEDED"


@dataclass(frozen=True)
class FileVersion:
    file_name: str
    kind: str
    extract_date: date | None
    sha256: str


def keep_replaced_rows(con: duckdb.DuckDBPyConnection, incoming: str) -> None:
    """Before the loaded versions of the files in ``incoming`` (a relation of file_name,
    sha256, status) lose their raw rows, move those rows to raw.superseded_*; a version that
    comes back into force leaves raw.superseded_* (the load puts its rows into raw.* again).

    Reloading the same bytes (a backfill) moves nothing: the version stays in force. Runs in
    the caller's transaction; skips the scan of raw.* when no version leaves.
    """
    leaving = con.execute(
        f"""
        select distinct loaded.file_name, loaded.sha256
        from audit.extract_files as loaded
        join {incoming} as incoming using (file_name)
        where loaded.status = '{LOADED}'
          and not (incoming.status = '{LOADED}' and incoming.sha256 = loaded.sha256)
        """
    ).fetchall()
    for kind in KINDS:
        con.execute(
            f"""
            delete from raw.superseded_{kind}
            where (file_name, sha256) in (select (file_name, sha256) from {incoming} where status = '{LOADED}')
            """
        )
        if leaving:
            con.execute(
                f"""
                insert into raw.superseded_{kind}
                select kept.* from raw.{kind} as kept
                semi join (select unnest($names) as file_name, unnest($sha256s) as sha256) as leaving
                    using (file_name, sha256)
                """,
                {"names": [name for name, _ in leaving], "sha256s": [sha for _, sha in leaving]},
            )


def record_files_in_force(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Record, for the publication ``run_id`` being appended, which file versions came into
    or left force since the previous recorded publication. Inside the publishing transaction."""
    [(sequence,)] = con.execute("select coalesce(max(sequence), 0) + 1 from history.publication_files").fetchall()
    con.execute(
        f"""
        insert into history.file_version_changes
        with now_in_force as (
            select file_name, kind, extract_date, sha256
            from audit.extract_files
            where status = '{LOADED}'
        ),
        before as ({_IN_FORCE_SQL})
        select $run_id, *, '{IN}' from (select * from now_in_force except select * from before)
        union all
        select $run_id, *, '{OUT}' from (select * from before except select * from now_in_force)
        """,
        {"run_id": run_id, "sequence": sequence - 1},
    )
    con.execute(
        "insert into history.publication_files"
        f" select $run_id, $sequence, count(*) from audit.extract_files where status = '{LOADED}'",
        {"run_id": run_id, "sequence": sequence},
    )


# The versions in force at the recorded publication numbered $sequence (none for 0): those
# whose latest change up to it brought them in.
_IN_FORCE_SQL = f"""
    select changes.file_name, changes.kind, changes.extract_date, changes.sha256
    from history.file_version_changes as changes
    join history.publication_files as recorded using (run_id)
    where recorded.sequence <= $sequence
    qualify row_number() over (
        partition by changes.file_name, changes.sha256 order by recorded.sequence desc
    ) = 1 and changes.change = '{IN}'
"""


def recorded_sequence(con: duckdb.DuckDBPyConnection, run_id: str) -> int | None:
    """The publication's number among those that recorded their files; None when it
    predates the warehouse keeping them."""
    found = con.execute("select sequence from history.publication_files where run_id = ?", [run_id]).fetchall()
    return found[0][0] if found else None


def files_in_force(con: duckdb.DuckDBPyConnection, run_id: str) -> list[FileVersion]:
    """The file versions the publication ``run_id`` counted (it must have recorded them)."""
    sequence = recorded_sequence(con, run_id)
    if sequence is None:
        raise LookupError(f"publication {run_id} predates the record of files in force")
    rows = con.execute(f"{_IN_FORCE_SQL} order by 1", {"sequence": sequence}).fetchall()
    return [FileVersion(*row) for row in rows]


def kept_rows(kind: str, catalog: str) -> str:
    """SQL of every kept row of ``kind`` in the warehouse attached as ``catalog``: the
    versions in force and the superseded ones (each version lives in one of the two)."""
    return f"select * from {catalog}.raw.{kind} union all select * from {catalog}.raw.superseded_{kind}"
