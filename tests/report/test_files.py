import stat

from cakupan.report.files import REPORT_FILE_NAMES, remove_stale, write_bytes


def test_written_files_get_ordinary_permissions(tmp_path):
    reference = tmp_path / "reference.txt"
    reference.write_text("x")
    written = write_bytes(tmp_path / "index.html", b"<html></html>")

    assert stat.S_IMODE(written.stat().st_mode) == stat.S_IMODE(reference.stat().st_mode)


def test_write_replaces_the_previous_content_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "index.html"
    write_bytes(target, b"old")
    write_bytes(target, b"new")

    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["index.html"]


def test_only_report_files_not_written_this_run_are_removed(tmp_path):
    for name in ("index.html", "compliance.png", "coverage_city_year.csv", "mine.png"):
        (tmp_path / name).write_text("x")
    remove_stale(tmp_path, [tmp_path / "index.html", tmp_path / "coverage_city_year.csv"])

    assert sorted(p.name for p in tmp_path.iterdir()) == ["coverage_city_year.csv", "index.html", "mine.png"]
    assert "compliance.png" in REPORT_FILE_NAMES
