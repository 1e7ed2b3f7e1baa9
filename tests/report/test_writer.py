import re
import struct
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from cakupan.report.summary import report_markdown
from cakupan.report.writer import write_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# A NIK has 16 digits, a KPJ 11; digits after a decimal mark are a fraction, not an identifier.
IDENTIFIER_LIKE = re.compile(r"(?<![\d.,])(?:\d{16}|\d{11})(?!\d)")


class PageParser(HTMLParser):
    """Tables (caption, header row, body rows), headline values, charts and links of the page."""

    def __init__(self):
        super().__init__()
        self.tables, self.headlines, self.charts, self.links, self.external = [], [], [], [], []
        self._text = self._capture = None
        self._row, self._row_is_header = [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.tables.append({"caption": "", "headers": [], "rows": []})
        elif tag == "tr":
            self._row, self._row_is_header = [], False
        elif tag in ("td", "th", "caption") or (tag == "div" and attrs.get("class") == "value"):
            self._text, self._capture = "", tag
            self._row_is_header |= tag == "th"
        elif tag == "figure":
            self.charts.append(attrs["id"])
        elif tag == "a":
            self.links.append(attrs["href"])
        if tag in ("link", "script", "iframe", "img", "object", "embed"):
            self.external.append(tag)

    def handle_data(self, data):
        if self._text is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "tr":
            if self._row_is_header:
                self.tables[-1]["headers"] = self._row
            else:
                self.tables[-1]["rows"].append(self._row)
        if tag != self._capture:
            return
        text = self._text.strip()
        if tag == "caption":
            self.tables[-1]["caption"] = text
        elif tag == "div":
            self.headlines.append(text)
        else:
            self._row.append(text)
        self._text = self._capture = None


def parse(page: Path) -> PageParser:
    parser = PageParser()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def table(parser: PageParser, caption_start: str) -> dict:
    [found] = [t for t in parser.tables if t["caption"].startswith(caption_start)]
    return found


def png_size(content: bytes) -> tuple[int, int]:
    assert content[:8] == PNG_SIGNATURE and content[12:16] == b"IHDR"
    return struct.unpack(">II", content[16:24])


def test_page_opens_with_the_headline_figures(written_report):
    _, files = written_report
    page = parse(files.index)

    assert page.headlines == ["20,3%", "32,0%", "933 pekerja", "Di bawah target"]
    assert "per 31 Desember 2025" in files.index.read_text(encoding="utf-8")


def test_city_table_holds_every_year_in_indonesian_format(written_report):
    _, files = written_report
    page = parse(files.index)

    city = table(page, "Kota Malang per tahun")
    assert city["headers"][:4] == ["Tahun", "Tanggal acuan", "Angkatan kerja (workforce)", "Tercakup (covered)"]
    assert city["rows"] == [
        ["2024", "31 Desember 2024", "7.998", "1.490", "1.210", "230", "50", "18,6%", "–", "–", "–"],
        ["2025", "31 Desember 2025", "8.000", "1.627", "1.312", "252", "63", "20,3%", "32,0%", "933", "tidak"],
    ]


def test_sector_table_is_sorted_and_suppressed(written_report):
    _, files = written_report
    page = parse(files.index)

    rows = {row[0].split(" ", 1)[0]: row[1:] for row in table(page, "Sektor KBLI 2025")["rows"]}
    order = [row[0].split(" ", 1)[0] for row in table(page, "Sektor KBLI 2025")["rows"]]
    assert order[:3] == ["C", "P", "G"] and order[-3:] == ["T", "U", "X"]
    assert len(order) == 22
    assert rows["C"] == ["1.500", "650", "600", "s", "s", "43,3%", "57,1%", "32,0%", "0"]
    assert rows["P"] == ["1.000", "407", "s", "s", "0", "40,7%", "s", "32,0%", "0"]
    assert rows["T"] == ["300", "s", "0", "s", "s", "s", "0,0%", "32,0%", "s"]
    assert rows["X"] == ["–", "s", "s", "0", "0", "s", "s", "–", "s"]
    assert rows["G"] == ["2.000", "550", "300", "200", "50", "27,5%", "39,5%", "32,0%", "90"]


def test_district_table_hides_small_cells_and_a_complement(written_report):
    _, files = written_report
    page = parse(files.index)

    assert table(page, "Kecamatan 2025")["rows"] == [
        ["Blimbing", "375", "300", "60", "15"],
        ["Kedungkandang", "340", "250", "70", "20"],
        ["Klojen", "510", "500", "s", "s"],
        ["Lowokwaru", "202", "130", "60", "12"],
        ["Sukun", "200", "132", "s", "s"],
    ]


def test_compliance_work_lists_rank_employers(written_report):
    _, files = written_report
    page = parse(files.index)

    unregistered = table(page, "10 pemberi kerja dengan pekerja belum didaftarkan")
    below_umk = table(page, "10 pemberi kerja dengan akun upah di bawah UMK")
    assert unregistered["rows"] == [
        ["35730001", "PT Sumber Makmur", "C", "Klojen", "Besar", "120", "80", "40", "5"],
        ["35730002", "CV Toko Sejahtera", "G", "Blimbing", "Kecil", "25", "20", "5", "0"],
    ]
    assert [row[:2] for row in below_umk["rows"]] == [
        ["35730003", "PT Kopi <Arema> & Co"], ["35730001", "PT Sumber Makmur"]
    ]
    assert "PT Kopi &lt;Arema&gt; &amp; Co" in files.index.read_text(encoding="utf-8")


def test_page_is_self_contained_and_links_every_file(written_report):
    _, files = written_report
    page = parse(files.index)
    html = files.index.read_text(encoding="utf-8")

    assert page.external == []
    assert page.charts == [f"chart-{chart.stem}" for chart in files.charts]
    for chart in files.charts:  # drawn inline twice (desktop, phone), linked as a PNG file
        assert html.count(f'id="{chart.stem}-wide-bar') and html.count(f'id="{chart.stem}-narrow-bar')
    assert set(page.links) == {path.name for path in (*files.charts, *files.exports)}
    assert page.links.count("employer_compliance.csv") == 2  # in its section and in the downloads


def test_charts_are_png_images_of_a_readable_size(written_report):
    _, files = written_report

    assert {chart.name for chart in files.charts} == {
        "city_coverage.png", "composition.png", "sector_coverage.png",
        "district_coverage.png", "compliance.png",
    }
    for chart in files.charts:
        width, height = png_size(chart.read_bytes())
        assert 800 <= width <= 1600 and 200 <= height <= 1400, (chart.name, width, height)


def test_exports_are_readable_with_the_published_columns(written_report):
    marts, files = written_report
    out = files.index.parent
    assert {path.name for path in files.exports} == {
        f"{name}.{extension}"
        for name in ("coverage_city_year", "coverage_sector_year", "coverage_district_year", "employer_compliance")
        for extension in ("parquet", "csv")
    }
    city = pq.read_table(out / "coverage_city_year.parquet")
    exact = marts.sql("select * from mart.coverage_city_year order by year").to_arrow_table()
    assert city.equals(exact)

    sectors = pq.read_table(out / "coverage_sector_year.parquet")
    mart_columns = [name for name, *_ in marts.sql("describe mart.coverage_sector_year").fetchall()]
    assert sectors.column_names == mart_columns + [
        "covered_suppressed", "covered_formal_suppressed", "covered_informal_suppressed", "covered_vulnerable_suppressed"
    ]
    con = duckdb.connect()
    for extension in ("parquet", "csv"):
        reader = "read_parquet" if extension == "parquet" else "read_csv"
        assert con.sql(
            f"select covered, covered_formal, covered_informal, covered_suppressed, coverage_rate, gap_workers"
            f" from {reader}('{out / f'coverage_sector_year.{extension}'}') where year = 2025 and sector = 'T'"
        ).fetchall() == [(None, 0, None, True, None, None)]
        assert con.sql(
            f"select covered_informal, covered_informal_suppressed from {reader}('{out / f'coverage_district_year.{extension}'}')"
            " where year = 2025 and district = 'KLOJEN'"
        ).fetchall() == [(None, True)]
        assert con.sql(
            f"select count(*), sum(unregistered_workers) from {reader}('{out / f'employer_compliance.{extension}'}')"
        ).fetchall() == [(4, 45)]
    con.close()


def test_suppressed_cells_cannot_be_recovered_from_published_totals(written_report):
    _, files = written_report
    out = files.index.parent
    con = duckdb.connect()
    counts = ["covered", "covered_formal", "covered_informal", "covered_vulnerable"]
    for name, key in (("coverage_sector_year", "sector"), ("coverage_district_year", "district")):
        published = con.sql(f"select * from read_csv('{out / name}.csv')").df()
        for (year, row_key), row in published.set_index(["year", key]).iterrows():
            assert sum(bool(row[f"{c}_suppressed"]) for c in counts) != 1, (name, year, row_key)
        for year, rows in published.groupby("year"):
            for column in counts:
                assert rows[f"{column}_suppressed"].sum() != 1, (name, year, column)
    # and concretely: the city total less every published district leaves a sum of two cells
    district = con.sql(f"select * from read_csv('{out / 'coverage_district_year.csv'}') where year = 2025").df()
    assert 252 - district["covered_informal"].sum() == 4 + 58
    con.close()


def test_no_identifier_like_string_in_any_file(written_report):
    marts, files = written_report
    summary = report_markdown(marts, files.index.parent)

    texts = {"summary.md": summary}
    for path in files.paths:
        if path.suffix == ".parquet":
            texts[path.name] = " ".join(str(value) for value in pq.read_table(path).to_pylist())
        elif path.suffix in (".html", ".csv"):
            texts[path.name] = path.read_text(encoding="utf-8")
    assert set(texts) == {"summary.md", "index.html"} | {p.name for p in files.exports}
    for name, text in texts.items():
        assert IDENTIFIER_LIKE.findall(text) == [], name
        assert "3573014506900001" not in text, name  # the hashed value held in raw.enrolments


@pytest.mark.slow
def test_each_run_replaces_its_files_and_leaves_others_alone(marts, tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    (out / "catatan.txt").write_text("kept")
    first = write_report(marts, out)
    before = sorted(p.name for p in out.iterdir())
    second = write_report(marts, out)

    assert sorted(p.name for p in out.iterdir()) == before
    assert first.paths == second.paths
    assert (out / "catatan.txt").read_text() == "kept"
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.slow
def test_marts_emptied_later_leave_no_stale_chart(marts, tmp_path):
    out = tmp_path / "report"
    write_report(marts, out)
    for name in ("coverage_city_year", "coverage_sector_year", "coverage_district_year", "employer_compliance"):
        marts.execute(f"delete from mart.{name}")
    files = write_report(marts, out)

    assert files.charts == () and not list(out.glob("*.png"))
    assert "Belum ada data yang dimuat" in files.index.read_text(encoding="utf-8")
    sectors = pq.read_table(out / "coverage_sector_year.parquet")
    assert sectors.num_rows == 0 and "covered_suppressed" in sectors.column_names


def test_a_warehouse_before_the_first_load_gets_a_page_saying_so(empty_warehouse, tmp_path):
    out = tmp_path / "report"
    files = write_report(empty_warehouse, out)
    page = parse(files.index)

    assert [p.name for p in out.iterdir()] == ["index.html"]
    assert files.charts == () and files.exports == ()
    assert page.tables == [] and page.charts == []
    assert "No data loaded yet" in files.index.read_text(encoding="utf-8")
