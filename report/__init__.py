"""The coverage report: an offline HTML page, charts (inline SVG, PNG files) and Parquet/CSV
exports. ``cakupan.report.writer.write_report(con, out_dir)`` writes it after the marts are
rebuilt; ``cakupan.report.summary.report_markdown(con, out_dir)`` is the run's Prefect artifact.
This package imports none of its modules, so any of them can be imported alone.

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
* CSV exports neutralise text cells that a spreadsheet would run as a formula (a leading
  ``'``); Parquet exports are exact.
"""
