import os
import re

from cakupan.ingest.validate.data_docs import refresh_index


def test_each_slice_writes_validation_pages_without_identifiers(
    ingest, warehouse, tmp_path, tmp_landing, write_extract, enrolment, pii_key
):
    bad = enrolment(2, nik="3573019913990001")  # month 99: breaks the NIK rule
    write_extract("enrolments_20250102.csv", [enrolment(1), bad])
    docs = tmp_path / "data_docs"
    outcomes = ingest(tmp_landing, warehouse, ["enrolments_20250102.csv"], pii_key, "run-a", pages=docs / "run-a")
    assert outcomes["enrolments_20250102.csv"].rows_quarantined == 1

    page = docs / "run-a" / "enrolments_20250102-to-enrolments_20250102.html"
    text = page.read_text()
    words = " ".join(re.sub(r"<[^>]+>", " ", text).split())
    assert "Expectation Suite: enrolments" in words and "Status: Failed" in words
    assert "3573019913990001" not in text and enrolment(1)["nik"] not in text
    assert "run-a" in refresh_index(docs).read_text()


def test_index_keeps_only_the_latest_runs(tmp_path):
    for n in range(5):
        run = tmp_path / f"run-{n}"
        run.mkdir()
        (run / "employers.html").write_text("<html></html>")
        os.utime(run, (1_000_000 + n, 1_000_000 + n))
    index = refresh_index(tmp_path, keep_runs=3)
    assert sorted(d.name for d in tmp_path.iterdir() if d.is_dir()) == ["run-2", "run-3", "run-4"]
    text = index.read_text()
    assert text.index("run-4") < text.index("run-3") < text.index("run-2")
    assert "run-1" not in text
