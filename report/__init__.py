"""The coverage report: an offline HTML page, PNG charts and Parquet/CSV exports.

Call ``write_report(con, out_dir)`` after the marts are rebuilt, and
``report_markdown(con, out_dir)`` for the run's Prefect artifact.

What is published how:

* ``mart.coverage_city_year``: exactly (city totals are large and are the table every
  other table adds up to).
* ``mart.coverage_sector_year`` and ``mart.coverage_district_year``: through
  ``cakupan.report.suppression.suppress_small_cells`` (counts 1..9 and their complementary
  cells hidden; zeros shown), in the page, the charts and the exports alike.
* ``mart.employer_compliance``: exactly, no suppression. Its unit is an employer (a legal
  entity with a legal duty to register its workers), not a cell of persons by sector or
  district; an inspector needs the exact number of unregistered workers and below-UMK
  accounts to act on. It holds no NIK, KPJ, person or wage, only per-employer counts. An
  employer with one or two workers can still let a reader infer something about those
  workers, so the list is for Disnaker's inspectors and must not be republished as open data.
"""

from cakupan.report.summary import report_markdown
from cakupan.report.suppression import suppress_small_cells
from cakupan.report.writer import ReportFiles, write_report

__all__ = ["ReportFiles", "report_markdown", "suppress_small_cells", "write_report"]
