import datetime as dt
import struct

import pandas as pd

from cakupan.report.charts import city_chart, compliance_chart


def png_size(content: bytes) -> tuple[int, int]:
    assert content[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", content[16:24])


def test_city_chart_without_any_target():
    city = pd.DataFrame({
        "year": [2024], "ref_date": [dt.date(2024, 12, 31)], "coverage_rate": [0.25],
        "target_rate": pd.array([pd.NA], dtype="Float64"), "gap_workers": pd.array([pd.NA], dtype="Int64"),
        "workforce_carried_forward": [False],
    })
    no_path = pd.DataFrame({"year": pd.Series(dtype="Int64"), "target_rate": pd.Series(dtype="Float64")})

    width, height = png_size(city_chart(city, no_path))
    assert (width, height) == (1000, 460)


def test_compliance_chart_with_nobody_on_either_list():
    nobody = pd.DataFrame(columns=["name", "unregistered_workers", "below_umk_accounts"])

    width, height = png_size(compliance_chart(nobody, nobody))
    assert width == 1100 and height >= 250
