import datetime as dt

import pandas as pd

from cakupan.report.formatting import format_date, format_number, format_percent, is_true


def test_numbers_group_thousands_with_dots():
    assert format_number(459084) == "459.084"
    assert format_number(1_234_567) == "1.234.567"
    assert format_number(0) == "0"
    assert format_number(-1500) == "-1.500"


def test_percent_uses_a_decimal_comma():
    assert format_percent(0.3241) == "32,4%"
    assert format_percent(0.32) == "32,0%"
    assert format_percent(0.5153632, decimals=0) == "52%"


def test_dates_spell_the_indonesian_month():
    assert format_date(dt.date(2025, 12, 31)) == "31 Desember 2025"
    assert format_date(dt.date(2026, 3, 1)) == "1 Maret 2026"


def test_missing_values_show_a_dash():
    assert format_number(None) == format_percent(pd.NA) == format_date(None) == "–"


def test_nullable_flags():
    assert is_true(True) and is_true(pd.array([True], dtype="boolean")[0])
    assert not is_true(pd.NA) and not is_true(False) and not is_true(None)
