import pandas as pd
import pytest

from cakupan.report.suppression import SuppressionImpossible, suppress_small_cells

PARTS = ["covered_formal", "covered_informal", "covered_vulnerable"]
COUNTS = [*PARTS, "covered"]


def sector_table() -> pd.DataFrame:
    """2025 of the hand-made marts: P informal 7 and T 5/3/8 are the small cells."""
    rows = {  # sector: (formal, informal, vulnerable, workforce)
        "A": (0, 0, 0, 200),
        "C": (600, 40, 10, 1500),
        "G": (300, 200, 50, 2000),
        "P": (400, 7, 0, 1000),
        "T": (0, 5, 3, 300),
        "X": (12, 0, 0, None),
    }
    table = pd.DataFrame(
        [(2025, sector, *counts[:3], sum(counts[:3]), counts[3]) for sector, counts in rows.items()],
        columns=["year", "sector", *PARTS, "covered", "workforce"],
    ).astype({"workforce": "Int64"})
    table["coverage_rate"] = (table["covered"] / table["workforce"]).astype("Float64")
    return table


def suppress(table: pd.DataFrame) -> pd.DataFrame:
    return suppress_small_cells(
        table, parts=PARTS, total="covered", by="year", derived={"covered": ["coverage_rate"]}
    )


def hidden_cells(published: pd.DataFrame) -> set[tuple[str, str]]:
    return {
        (row["sector"], column)
        for _, row in published.iterrows()
        for column in COUNTS
        if row[column + "_suppressed"]
    }


def test_small_cells_and_their_complements_are_hidden():
    published = suppress(sector_table())

    assert hidden_cells(published) == {
        ("P", "covered_informal"),  # 7
        ("T", "covered_informal"),  # 5
        ("T", "covered_vulnerable"),  # 3
        ("T", "covered"),  # 8
        ("P", "covered_formal"),  # P's row had one hidden cell: smallest non-zero other
        ("X", "covered_formal"),  # formal column had one (P): smallest non-zero formal
        ("X", "covered"),  # then X's row had one
        ("C", "covered_vulnerable"),  # vulnerable column had one (T)
        ("C", "covered_informal"),  # then C's row had one
    }
    for sector, column in hidden_cells(published):
        assert pd.isna(published.loc[published["sector"] == sector, column].item())


def test_no_row_or_column_holds_a_single_hidden_cell():
    published = suppress(sector_table())

    for _, row in published.iterrows():
        assert sum(bool(row[c + "_suppressed"]) for c in COUNTS) != 1, row["sector"]
    for column in COUNTS:
        assert published[column + "_suppressed"].sum() != 1, column


def test_the_hidden_seven_cannot_be_recovered_from_published_totals():
    original = sector_table()
    published = suppress(original)

    # Subtraction within P's row and within the informal column gives a sum, not the 7.
    p_row = published.set_index("sector").loc["P"]
    row_rest = p_row["covered"] - sum(p_row[c] for c in PARTS if not p_row[c + "_suppressed"])
    column_rest = original["covered_informal"].sum() - published["covered_informal"].sum()
    assert row_rest == 407 and column_rest == 52

    # A different table with P informal = 8 agrees with every published cell and every total.
    alternative = original.set_index("sector").copy()
    changes = {
        ("P", "covered_informal"): 8, ("P", "covered_formal"): 399,
        ("X", "covered_formal"): 13, ("X", "covered"): 13,
        ("T", "covered_informal"): 4, ("T", "covered"): 7,
    }
    for (sector, column), value in changes.items():
        alternative.at[sector, column] = value
    alternative = alternative.reset_index()
    assert (alternative[PARTS].sum(axis=1) == alternative["covered"]).all()
    assert (alternative[COUNTS].sum() == original[COUNTS].sum()).all()
    for _, row in published.iterrows():
        for column in COUNTS:
            if not row[column + "_suppressed"]:
                assert alternative.loc[alternative["sector"] == row["sector"], column].item() == row[column]


def test_zero_and_ten_are_published_one_and_nine_are_not():
    table = pd.DataFrame(
        {
            "year": [2025] * 3,
            "district": ["A", "B", "C"],
            "covered_formal": [1, 9, 10],
            "covered_informal": [9, 1, 20],
            "covered_vulnerable": [0, 0, 0],
        }
    )
    table["covered"] = table[PARTS].sum(axis=1)
    published = suppress_small_cells(table, parts=PARTS, total="covered", by="year")

    flags = published.set_index("district")[[c + "_suppressed" for c in COUNTS]]
    assert flags.to_dict("index") == {
        "A": {"covered_formal_suppressed": True, "covered_informal_suppressed": True,
              "covered_vulnerable_suppressed": False, "covered_suppressed": False},
        "B": {"covered_formal_suppressed": True, "covered_informal_suppressed": True,
              "covered_vulnerable_suppressed": False, "covered_suppressed": False},
        "C": {"covered_formal_suppressed": False, "covered_informal_suppressed": False,
              "covered_vulnerable_suppressed": False, "covered_suppressed": False},
    }
    assert published["covered_vulnerable"].tolist() == [0, 0, 0]
    assert published["covered"].tolist() == [10, 10, 30]


def test_rates_of_a_hidden_count_are_hidden_and_the_input_stays_exact():
    original = sector_table()
    before = original.copy()
    published = suppress(original)

    rates = published.set_index("sector")["coverage_rate"]
    assert pd.isna(rates["T"]) and pd.isna(rates["X"])
    assert rates["G"] == pytest.approx(550 / 2000)
    pd.testing.assert_frame_equal(original, before)


def test_years_are_separate_tables():
    no_small_cells = sector_table().assign(
        year=2024,
        covered_informal=lambda t: t["covered_informal"] + 10,
        covered_vulnerable=lambda t: t["covered_vulnerable"] + 10,
    )
    table = pd.concat([no_small_cells, sector_table()])  # the index repeats: must not matter
    table["covered"] = table[PARTS].sum(axis=1)
    published = suppress(table)

    assert hidden_cells(published[published["year"] == 2024]) == set()
    assert hidden_cells(published[published["year"] == 2025]) == hidden_cells(suppress(sector_table()))


def test_a_small_cell_alone_in_its_column_cannot_be_protected():
    table = pd.DataFrame({"year": [2025], "covered_formal": [3], "covered_informal": [20],
                          "covered_vulnerable": [30], "covered": [53]})
    with pytest.raises(SuppressionImpossible, match="covered_formal.*2025"):
        suppress_small_cells(table, parts=PARTS, total="covered", by="year")


def test_a_missing_column_is_named():
    with pytest.raises(KeyError, match="covered_vulnerable"):
        suppress_small_cells(sector_table().drop(columns="covered_vulnerable"),
                             parts=PARTS, total="covered", by="year")
