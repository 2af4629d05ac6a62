"""Best observation per source and counterpart candidates.

Best-observation semantics are checked on hand-made groups, against a literal re-statement of
the XRBID guide's per-source procedure on the real M101 table, and against the guide's
published best rows. Counterpart geometry uses positions whose separations are known exactly
(offsets along a meridian, across RA = 0/360, through the pole).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xrbid.errors import ColumnError, InputError, XrbidWarning
from xrbid.selection import (
    best_observations,
    find_counterparts,
    merge_optical_catalogs,
    write_counterpart_regions,
)

NAN = float("nan")
GUIDE_STD = (0.3813, 0.3037)


def obs(rows) -> pd.DataFrame:
    """(source_id, counts, theta, pu_2sigma, tag) rows -> table."""
    return pd.DataFrame(rows, columns=["source_id", "counts", "theta", "pu_2sigma", "tag"])


def chosen(df: pd.DataFrame) -> dict[str, str]:
    best = best_observations(df)
    return dict(zip(best["source_id"], best["tag"]))


# ----------------------------------------------------------------------------- best: semantics


def test_valid_rows_beat_smaller_radii_of_invalid_rows():
    # The guide's 2CXO J140447.2+542633: zero-count NaN-theta rows have the smallest radius,
    # but the valid observation is kept.
    df = obs(
        [
            ("S", 0.0, NAN, 0.974933, "invalid-a"),
            ("S", 53.48, 13.49, 7.658538, "valid-big"),
            ("S", 0.0, NAN, 0.974933, "invalid-b"),
            ("S", 7.59, 3.42, 1.710737, "valid-small"),
        ]
    )
    assert chosen(df) == {"S": "valid-small"}


def test_positive_counts_beat_zero_counts_among_valid_rows():
    df = obs(
        [
            ("S", 0.0, 2.0, 0.5, "zero-counts"),
            ("S", 12.0, 9.0, 3.0, "positive-far"),
            ("S", 40.0, 8.0, 2.0, "positive-near"),
        ]
    )
    assert chosen(df) == {"S": "positive-near"}


def test_without_valid_rows_positive_counts_still_preferred():
    df = obs(
        [
            ("S", 0.0, NAN, 0.4, "zero"),
            ("S", 30.0, NAN, 1.5, "positive-no-theta"),
            ("S", NAN, 4.0, 0.3, "nan-counts"),
        ]
    )
    assert chosen(df) == {"S": "positive-no-theta"}


def test_ties_go_to_the_first_row_in_table_order():
    df = obs(
        [
            ("T", 10.0, 1.0, 1.25, "first"),
            ("U", 10.0, 1.0, 0.9, "u"),
            ("T", 10.0, 1.0, 1.25, "second"),
            ("T", 10.0, 1.0, 1.30, "larger"),
        ]
    )
    assert chosen(df) == {"T": "first", "U": "u"}


def test_all_nan_group():
    df = obs(
        [
            ("N", NAN, NAN, 2.0, "a"),
            ("N", NAN, NAN, 1.0, "b"),
            ("M", NAN, NAN, NAN, "c"),
            ("M", NAN, NAN, NAN, "d"),
        ]
    )
    with pytest.warns(UserWarning, match="1 of 2 sources have no 2-sigma radius"):
        assert chosen(df) == {"N": "b", "M": "c"}


def test_sources_without_radius_are_counted_in_a_warning():
    df = obs(
        [
            ("A", 5.0, 1.0, NAN, "a"),
            ("B", 5.0, 1.0, NAN, "b1"),
            ("B", NAN, NAN, NAN, "b2"),
            ("C", 5.0, 1.0, NAN, "c"),
        ]
    )
    with pytest.warns(UserWarning, match="3 of 3 sources have no 2-sigma radius"):
        best = best_observations(df)
    assert best["pu_2sigma"].isna().all()


def test_no_warning_when_every_source_has_a_radius():
    df = obs([("A", 5.0, 1.0, NAN, "nan"), ("A", 5.0, 1.0, 2.0, "two"), ("B", 1.0, 1.0, 1.0, "b")])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert chosen(df) == {"A": "two", "B": "b"}


def test_nan_radius_ranks_last():
    df = obs([("R", 5.0, 1.0, NAN, "nan"), ("R", 5.0, 1.0, 9.0, "big")])
    assert chosen(df) == {"R": "big"}


def test_all_zero_counts_group():
    # All observations with counts = 0: the guide keeps them all and takes the smallest
    # radius, first on ties.
    df = obs(
        [
            ("Z", 0.0, 5.0, 1.2, "a"),
            ("Z", 0.0, 2.0, 0.97, "b"),
            ("Z", 0.0, 7.0, 0.97, "c"),
        ]
    )
    assert chosen(df) == {"Z": "b"}


def test_one_row_per_source_in_first_appearance_order_with_n_obs():
    df = obs(
        [
            ("B", 1.0, 1.0, 3.0, "b1"),
            ("A", 5.0, 1.0, 1.0, "a1"),
            ("B", 9.0, 1.0, 2.0, "b2"),
            ("C", 5.0, 1.0, 1.0, "c1"),
            ("A", 5.0, 1.0, 0.5, "a2"),
            ("B", 9.0, 1.0, 2.5, "b3"),
        ]
    )
    best = best_observations(df)
    assert best["source_id"].tolist() == ["B", "A", "C"]
    assert best["tag"].tolist() == ["b2", "a2", "c1"]
    assert best["n_obs"].tolist() == [3, 2, 1]
    assert best.index.tolist() == [0, 1, 2]


def test_best_does_not_modify_input():
    df = obs([("A", 1.0, 1.0, 3.0, "x"), ("A", 2.0, 1.0, 2.0, "y")])
    before = df.copy()
    best_observations(df)
    pd.testing.assert_frame_equal(df, before)


def test_best_without_source_id_is_a_column_error():
    df = obs([("A", 1.0, 1.0, 3.0, "x")]).drop(columns="source_id")
    with pytest.raises(ColumnError, match="no 'source_id' column"):
        best_observations(df)


def test_best_without_radii_says_to_run_pu():
    df = obs([("A", 1.0, 1.0, 3.0, "x")]).drop(columns="pu_2sigma")
    with pytest.raises(ColumnError, match="xrbid pu"):
        best_observations(df)


def test_best_with_text_in_a_number_column_is_an_error():
    df = obs([("A", 1.0, 1.0, 3.0, "x")])
    df["pu_2sigma"] = ["big"]
    with pytest.raises(InputError, match=r"'pu_2sigma' must be numeric: 1 row\(s\) are not"):
        best_observations(df)


def test_best_with_unnamed_rows_is_an_error():
    df = obs([("A", 1.0, 1.0, 3.0, "x"), (None, 1.0, 1.0, 3.0, "y")])
    with pytest.raises(InputError, match="1 rows have no source_id"):
        best_observations(df)


# ----------------------------------------------------------------------------- best: M101


@pytest.fixture(scope="module")
def m101_pu(m101_vot):
    from xrbid.tables import read_table
    from xrbid.uncertainty import positional_uncertainty

    return positional_uncertainty(read_table(m101_vot), GUIDE_STD, fallback="zero")


def guide_procedure(df: pd.DataFrame) -> list[int]:
    """The guide's per-source loop, restated literally; returns the chosen row positions."""
    counts = df["counts"].to_numpy(dtype=float)
    theta = df["theta"].to_numpy(dtype=float)
    radius = df["pu_2sigma"].to_numpy(dtype=float)
    picked = []
    for rows in df.groupby("source_id", sort=False).indices.values():
        valid = rows[~np.isnan(counts[rows]) & ~np.isnan(theta[rows])]
        if len(valid):
            rows = valid
        positive = rows[counts[rows] > 0]
        if len(positive):
            rows = positive
        smallest = np.nanmin(radius[rows])
        picked.append(int(rows[radius[rows] <= smallest][0]))
    return picked


def test_m101_best_matches_the_guide_procedure(m101_pu):
    best = best_observations(m101_pu)
    assert len(best) == 555
    expected = m101_pu.iloc[guide_procedure(m101_pu)].reset_index(drop=True)
    assert best["source_id"].tolist() == expected["source_id"].tolist()
    for col in ("theta", "counts", "pu_2sigma", "pu_1sigma"):
        np.testing.assert_array_equal(best[col].to_numpy(), expected[col].to_numpy())


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from("ABCD"),
            st.sampled_from([NAN, 0.0, 3.0, 40.0]),
            st.sampled_from([NAN, 1.0, 6.0]),
            st.sampled_from([NAN, 0.9, 1.2, 1.2, 4.0]),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_best_matches_the_guide_procedure_on_random_groups(rows):
    df = pd.DataFrame(rows, columns=["source_id", "counts", "theta", "pu_2sigma"])
    df["row"] = np.arange(len(df))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # groups with only NaN radii
        best = best_observations(df)
    assert best["row"].tolist() == guide_procedure_nan_last(df)


def guide_procedure_nan_last(df: pd.DataFrame) -> list[int]:
    """`guide_procedure`, with the first row kept when all radii are NaN."""
    picked = []
    for sid in dict.fromkeys(df["source_id"]):
        sub = df[df["source_id"] == sid]
        valid = sub[sub["counts"].notna() & sub["theta"].notna()]
        sub = valid if len(valid) else sub
        positive = sub[sub["counts"] > 0]
        sub = positive if len(positive) else sub
        finite = sub[sub["pu_2sigma"].notna()]
        sub = finite[finite["pu_2sigma"] == finite["pu_2sigma"].min()] if len(finite) else sub
        picked.append(int(sub["row"].iloc[0]))
    return picked


# source -> (theta, counts, 1Sig, 2Sig) from the guide's published best table
GUIDE_BEST = {
    "2CXO J140312.5+542056": (1.280763, 234.492581, 0.493011, 0.988256),
    "2CXO J140312.7+542055": (4.725025, 209.970149, 0.516471, 1.038077),
    "2CXO J140312.5+542053": (1.321652, 252.846172, 0.492957, 0.988086),
    "2CXO J140313.1+542052": (2.762119, 23.229213, 0.561749, 1.188360),
    "2CXO J140313.5+542053": (1.410741, 7.040343, 0.593981, 1.300029),
    "2CXO J140138.8+541527": (12.087047, 76.034629, 1.921653, 4.517698),
    "2CXO J140450.6+541721": (9.951487, 155.562531, 0.793067, 1.558488),
    "2CXO J140216.3+543313": (13.887674, 149.738677, 1.676834, 3.103807),
    "2CXO J140445.4+541452": (10.703677, NAN, 0.487466, 0.974933),
    "2CXO J140447.2+542633": (3.416463, 7.591890, 0.738103, 1.710737),
}


def test_m101_best_rows_match_the_guide_table(m101_pu):
    best = best_observations(m101_pu).set_index("source_id")
    first_five = list(GUIDE_BEST)[:5]
    assert best.index[:5].tolist() == first_five
    assert best.index[-1] == "2CXO J140447.2+542633"
    for sid, (theta, counts, sig1, sig2) in GUIDE_BEST.items():
        row = best.loc[sid]
        assert row["theta"] == pytest.approx(theta, abs=6e-7), sid
        if math.isnan(counts):
            assert math.isnan(row["counts"]), sid
        else:
            assert row["counts"] == pytest.approx(counts, abs=6e-7), sid
        assert row["pu_1sigma"] == pytest.approx(sig1, abs=6e-7), sid
        assert row["pu_2sigma"] == pytest.approx(sig2, abs=6e-7), sid


# ----------------------------------------------------------------------------- counterparts


def xray(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["source_id", "ra", "dec", "pu_1sigma", "pu_2sigma"])


def north(dec: float, arcsec: float) -> float:
    return dec + arcsec / 3600.0


def test_candidates_inside_radius_ranked_by_separation():
    x = xray([("X1", 150.0, 10.0, 0.5, 1.0), ("X2", 150.1, 10.0, 0.4, 0.8)])
    optical = pd.DataFrame(
        {
            "ra": [150.0, 150.0, 150.0, 150.0, 150.1, 151.0],
            "dec": [north(10, 0.9), north(10, 0.3), north(10, -0.6), north(10, 1.2), 10.0, 10.0],
            "mag_f555w": [22.0, 23.0, 24.0, 25.0, 21.0, 20.0],
            "source_id": ["o0", "o1", "o2", "o3", "o4", "o5"],
        }
    )
    c = find_counterparts(x, optical)
    assert c["source_id"].tolist() == ["X1", "X1", "X1", "X2"]
    assert c["optical_index"].tolist() == [1, 2, 0, 4]
    assert c["optical_id"].tolist() == ["o1", "o2", "o0", "o4"]
    assert c["mag_f555w"].tolist() == [23.0, 24.0, 22.0, 21.0]
    assert c["rank"].tolist() == [1, 2, 3, 1]
    assert c["n_candidates"].tolist() == [3, 3, 3, 1]
    assert c["separation"].to_numpy() == pytest.approx([0.3, 0.6, 0.9, 0.0], abs=1e-9)
    assert c["separation_sigma"].to_numpy() == pytest.approx([0.6, 1.2, 1.8, 0.0], abs=1e-8)
    assert c["inside_1sigma"].tolist() == [True, False, False, True]
    assert c["xray_ra"].tolist() == [150.0, 150.0, 150.0, 150.1]
    assert c["pu_2sigma"].tolist() == [1.0, 1.0, 1.0, 0.8]


def test_candidates_across_ra_zero():
    # X-ray source just west of RA = 0 on the equator, optical sources just east of it:
    # separation = ΔRA in arcsec (cos δ = 1); a raw RA difference would be ~360 degrees.
    x = xray([("W", 359.99995, 0.0, 0.5, 1.0)])
    optical = pd.DataFrame({"ra": [0.0001, 0.0003, 180.0], "dec": [0.0, 0.0, 0.0]})
    c = find_counterparts(x, optical)
    assert c["optical_index"].tolist() == [0]
    assert c["separation"].iloc[0] == pytest.approx(0.00015 * 3600, abs=1e-6)  # 0.54"
    assert not c["inside_1sigma"].iloc[0]


def test_candidates_at_high_dec_use_cos_dec():
    # At Dec 80 a 0.001 deg RA step is 3.6" * cos 80 = 0.625"; outside 0.5", inside 1".
    x = xray([("H", 120.0, 80.0, 0.5, 1.0)])
    optical = pd.DataFrame({"ra": [120.001], "dec": [80.0]})
    c = find_counterparts(x, optical)
    expected = 3.6 * math.cos(math.radians(80.0))
    assert c["separation"].iloc[0] == pytest.approx(expected, rel=1e-6)
    assert not c["inside_1sigma"].iloc[0]


def test_candidates_through_the_pole():
    # 0.36" from the north pole at RA 0; the source at RA 180 is 0.72" away across the pole,
    # the one at RA 90 is 0.36" * sqrt(2) away. Their raw RA differences are 90-180 degrees.
    d = 90.0 - 0.0001
    x = xray([("P", 0.0, d, 0.6, 1.0)])
    optical = pd.DataFrame({"ra": [180.0, 90.0, 0.0], "dec": [d, d, 89.99]})
    c = find_counterparts(x, optical)
    assert c["optical_index"].tolist() == [1, 0]
    assert c["separation"].to_numpy() == pytest.approx([0.36 * math.sqrt(2), 0.72], rel=1e-6)
    assert c["inside_1sigma"].tolist() == [True, False]


def test_no_candidates_gives_an_empty_table_with_columns():
    x = xray([("X", 10.0, 10.0, 0.5, 1.0)])
    with pytest.warns(XrbidWarning, match="do not cover the same field"):
        c = find_counterparts(x, pd.DataFrame({"ra": [20.0], "dec": [10.0]}))
    assert len(c) == 0
    assert {"source_id", "separation", "rank", "inside_1sigma"} <= set(c.columns)


def test_nan_radius_finds_nothing_for_that_source():
    x = xray([("X", 10.0, 10.0, NAN, NAN), ("Y", 10.0, 10.0, 0.5, 1.0)])
    with pytest.warns(UserWarning, match="1 of 2 X-ray sources have no finite pu_2sigma"):
        c = find_counterparts(x, pd.DataFrame({"ra": [10.0], "dec": [10.0]}))
    assert c["source_id"].tolist() == ["Y"]


def test_radius_column_choice():
    x = xray([("X", 10.0, 10.0, 0.5, 1.0)])
    optical = pd.DataFrame({"ra": [10.0, 10.0], "dec": [north(10, 0.4), north(10, 0.8)]})
    c = find_counterparts(x, optical, radius_column="pu_1sigma", also=())
    assert c["optical_index"].tolist() == [0]
    assert "inside_1sigma" not in c.columns


def test_optical_without_coordinates_is_a_column_error():
    x = xray([("X", 10.0, 10.0, 0.5, 1.0)])
    with pytest.raises(ColumnError, match="sky coordinates"):
        find_counterparts(x, pd.DataFrame({"x": [1.0], "y": [2.0]}))


def test_xray_without_radius_is_a_column_error():
    x = xray([("X", 10.0, 10.0, 0.5, 1.0)]).drop(columns="pu_2sigma")
    with pytest.raises(ColumnError, match="'pu_2sigma'"):
        find_counterparts(x, pd.DataFrame({"ra": [10.0], "dec": [10.0]}))


def test_xray_with_several_rows_per_source_warns():
    x = xray([("X", 10.0, 10.0, 0.5, 1.0), ("X", 10.0, 10.0, 0.6, 1.1)])
    with pytest.warns(UserWarning, match="several rows per source"):
        find_counterparts(x, pd.DataFrame({"ra": [10.0], "dec": [10.0]}))


# ----------------------------------------------------------------------------- merging filters


def test_merge_optical_catalogs_by_position():
    f555w = pd.DataFrame(
        {"ra": [10.0, 10.01, 359.99999], "dec": [20.0, 20.0, 0.0], "mag": [22.1, 23.0, 19.0]}
    )
    # 0.036" from object 0; 0.5" from object 1 (beyond 0.1"); across RA 0 from object 2 (0.072")
    f814w = pd.DataFrame(
        {
            "ra": [10.0, 10.01, 0.00001],
            "dec": [20.00001, 20.0 + 0.5 / 3600, 0.0],
            "mag": [21.5, 22.0, 18.0],
        }
    )
    m = merge_optical_catalogs({"f555w": f555w, "f814w": f814w}, tolerance="0.1arcsec")
    assert len(m) == 4
    assert m["mag_f555w"].tolist()[:3] == [22.1, 23.0, 19.0]
    np.testing.assert_array_equal(m["mag_f814w"].to_numpy(), [21.5, NAN, 18.0, 22.0])
    assert m["n_filters"].tolist() == [2, 1, 2, 1]
    # the merged position is the first filter's; each filter keeps its own
    assert m["ra"].tolist()[:3] == [10.0, 10.01, 359.99999]
    assert m["ra"].iloc[3] == 10.01 and m["dec"].iloc[3] == 20.0 + 0.5 / 3600
    assert m["dec_f814w"].iloc[0] == 20.00001


def test_merge_closest_claimant_wins():
    base = pd.DataFrame({"ra": [10.0], "dec": [20.0], "flux": [1.0]})
    other = pd.DataFrame({"ra": [10.0, 10.0], "dec": [20.0 + 0.08 / 3600, 20.0 - 0.02 / 3600]})
    other["flux"] = [2.0, 3.0]
    m = merge_optical_catalogs({"b": base, "v": other}, tolerance=0.1)
    assert m["flux_v"].tolist() == [3.0, 2.0]
    assert m["n_filters"].tolist() == [2, 1]


def test_merge_keeps_names_that_already_name_the_filter():
    a = pd.DataFrame({"ra": [1.0], "dec": [1.0], "mag_f555w": [20.0], "id": ["s1"]})
    m = merge_optical_catalogs({"F555W": a})
    assert {"mag_f555w", "id_F555W", "ra_F555W"} <= set(m.columns)
    assert m["id_F555W"].tolist() == ["s1"]


def test_merge_short_filter_names_do_not_clash_with_columns():
    # "a" is inside "ra" and "dec" inside nothing: every column still gets its suffix
    a = pd.DataFrame({"ra": [1.0], "dec": [1.0], "mag": [20.0]})
    b = pd.DataFrame({"ra": [1.0], "dec": [1.0], "mag": [19.0]})
    m = merge_optical_catalogs({"A": a, "ec": b})
    assert {"ra_A", "dec_A", "mag_A", "ra_ec", "dec_ec", "mag_ec"} <= set(m.columns)
    assert m["n_filters"].tolist() == [2]


def test_merge_bad_input():
    with pytest.raises(InputError, match="no optical catalogue"):
        merge_optical_catalogs({})
    with pytest.raises(ColumnError, match="sky coordinates"):
        merge_optical_catalogs({"f555w": pd.DataFrame({"x": [1.0]})})


def test_merged_catalogue_feeds_counterparts():
    a = pd.DataFrame({"ra": [10.0], "dec": [20.0], "mag_f555w": [22.0]})
    b = pd.DataFrame({"ra": [10.0], "dec": [20.00001], "mag_f814w": [21.0]})
    m = merge_optical_catalogs({"f555w": a, "f814w": b})
    c = find_counterparts(xray([("X", 10.0, 20.0, 0.5, 1.0)]), m)
    assert c[["mag_f555w", "mag_f814w"]].to_numpy().tolist() == [[22.0, 21.0]]


# ----------------------------------------------------------------------------- region file


def test_candidate_region_file(tmp_path):
    from xrbid.regions import read_regions

    x = xray([("2CXO J140312.5+542056", 210.802227, 54.348952, 0.5, 1.0)])
    optical = pd.DataFrame({"ra": [210.802227, 210.802227], "dec": [54.349, 54.3491]})
    c = find_counterparts(x, optical)
    path = write_counterpart_regions(c, tmp_path / "cand.reg")
    back = read_regions(path)
    assert back["label"].tolist() == ["2CXO J140312.5+542056:1", "2CXO J140312.5+542056:2"]
    assert back["dec"].to_numpy() == pytest.approx([54.349, 54.3491], abs=1e-6)
    with pytest.raises(Exception, match="exists"):
        write_counterpart_regions(c, path)


def test_infinite_counts_are_not_a_valid_observation():
    # The finite row wins although the infinite one has the smaller radius: an infinite count is
    # no measurement (it takes the fallback radius, not the Kim et al. equations).
    df = pd.DataFrame(
        {
            "source_id": ["S", "S"],
            "ra": [10.0, 10.0],
            "dec": [20.0, 20.0],
            "counts": [np.inf, 50.0],
            "theta": [1.0, 2.0],
            "pu_2sigma": [0.5, 0.9],
        }
    )
    best = best_observations(df)
    assert best["counts"].tolist() == [50.0]


def _candidates_inputs(radii):
    xray = pd.DataFrame(
        {
            "source_id": [f"X{i}" for i in range(len(radii))],
            "ra": [150.0 + i * 0.01 for i in range(len(radii))],
            "dec": [2.0] * len(radii),
            "pu_1sigma": [r / 2 for r in radii],
            "pu_2sigma": radii,
        }
    )
    optical = pd.DataFrame({"ra": xray["ra"] + 0.2 / 3600, "dec": xray["dec"]})
    return xray, optical


@pytest.mark.fault
def test_negative_search_radius_is_refused():
    xray, optical = _candidates_inputs([1.0, -0.5])
    with pytest.raises(InputError, match=r"pu_2sigma is -0.5 \(negative\) for X1 .*>= 0 arcsec"):
        find_counterparts(xray, optical)


@pytest.mark.fault
def test_all_radii_missing_is_an_error_not_zero_candidates():
    xray, optical = _candidates_inputs([np.nan, np.nan])
    with pytest.raises(InputError, match=r"pu_2sigma is missing \(NaN\) or infinite for all 2"):
        find_counterparts(xray, optical)


@pytest.mark.fault
def test_some_radii_missing_are_named_in_a_warning():
    xray, optical = _candidates_inputs([1.0, np.nan, 1.0])
    with pytest.warns(
        UserWarning, match=r"1 of 3 X-ray sources have no finite pu_2sigma \(first: X1\)"
    ):
        cands = find_counterparts(xray, optical)
    assert sorted(cands["source_id"]) == ["X0", "X2"]  # the 0.2" offsets are inside 1"
