"""What a run creates is readable by its owner only, whatever the umask."""

import os
import stat


def test_outputs_are_owner_only_under_umask_022(cakupan_command, landing, tmp_path):
    root = tmp_path / "out"
    result = cakupan_command("nightly", "--as-of", "2025-03-12", "--landing", landing,
                             "--warehouse", root / "cakupan.duckdb", preexec_fn=lambda: os.umask(0o022))
    assert result.returncode == 0, result.stderr
    report = cakupan_command("report", "--warehouse", root / "cakupan.duckdb", "--out", tmp_path / "printed",
                             preexec_fn=lambda: os.umask(0o022))
    assert report.returncode == 0, report.stderr

    created = [root, tmp_path / "printed", *root.rglob("*"), *(tmp_path / "printed").rglob("*")]
    names = {path.name for path in created}
    assert {"cakupan.duckdb", "cakupan.duckdb.lock", "report", "data_docs", "index.html"} <= names
    open_to_others = {str(path): oct(stat.S_IMODE(path.stat().st_mode)) for path in created
                      if stat.S_IMODE(path.stat().st_mode) & 0o077}
    assert open_to_others == {}
