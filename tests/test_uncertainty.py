"""Kim et al. 2007 radii, the quadrature with the alignment scatter, and every fallback.

Expected numbers come from the published equations typed out again below (one scalar at a
time, with the math module), from hand arithmetic, or from the radii the XRBID guide publishes
for M101 with std = (0.3813, 0.3037) arcsec.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from xrbid.errors import ColumnError, InputError
from xrbid.uncertainty import (
    kim07_radii,
    method_counts,
    positional_uncertainty,
    sigma_astro_of,
)

GUIDE_STD = (0.3813, 0.3037)


def kim_by_hand(theta: float, counts: float) -> tuple[float, float]:
    """Eqs. 14 (68%) and 12 (95%) of Kim et al. 2007, written out for one source."""
    c = math.log10(counts)
    if c <= 2.1227:
        log68 = 0.1137 * theta - 0.4600 * c - 0.2398
    else:
        log68 = 0.1031 * theta - 0.1945 * c - 0.8034
    if c <= 2.1393:
        log95 = 0.1145 * theta - 0.4958 * c + 0.1932
    else:
        log95 = 0.0968 * theta - 0.2064 * c - 0.4260
    return 10**log68, 10**log95


def frame(theta, counts, err_r0=None) -> pd.DataFrame:
    data = {"theta": np.asarray(theta, float), "counts": np.asarray(counts, float)}
    if err_r0 is not None:
        data["err_r0"] = np.asarray(err_r0, float)
    return pd.DataFrame(data)


# ----------------------------------------------------------------------------- the equations


@pytest.mark.parametrize(
    ("theta", "log_counts", "branch"),
    [
        (0.5, 0.5, "both faint"),
        (3.0, 1.5, "both faint"),
        (12.0, 2.0, "both faint"),
        (4.0, 2.13, "68% bright, 95% faint"),  # between the two breakpoints
        (2.0, 2.5, "both bright"),
        (9.0, 3.0, "both bright"),
        (15.0, 3.3, "both bright, at the fit's end"),
    ],
)
def test_kim07_matches_equations_typed_separately(theta, log_counts, branch):
    counts = 10**log_counts
    r68, r95 = kim07_radii([theta], [counts])
    e68, e95 = kim_by_hand(theta, counts)
    assert r68[0] == pytest.approx(e68, rel=1e-12), branch
    assert r95[0] == pytest.approx(e95, rel=1e-12), branch


def test_kim07_literal_hand_values():
    # theta = 5 arcmin, 100 counts (C = 2 exactly, both faint branches):
    # log r95 = 0.5725 - 0.9916 + 0.1932 = -0.2259; log r68 = 0.5685 - 0.92 - 0.2398 = -0.5913
    # theta = 5 arcmin, 1000 counts (C = 3, both bright branches):
    # log r95 = 0.484 - 0.6192 - 0.426 = -0.5612; log r68 = 0.5155 - 0.5835 - 0.8034 = -0.8714
    r68, r95 = kim07_radii([5.0, 5.0], [100.0, 1000.0])
    assert r95 == pytest.approx([10**-0.2259, 10**-0.5612], rel=1e-12)
    assert r68 == pytest.approx([10**-0.5913, 10**-0.8714], rel=1e-12)
    assert r95[0] == pytest.approx(0.594429, abs=1e-6)
    assert r68[1] == pytest.approx(0.134462, abs=1e-6)


@pytest.mark.parametrize(
    ("c_break", "which"), [(2.1393, "r95"), (2.1227, "r68")], ids=["eq12", "eq14"]
)
def test_breakpoints_pick_the_right_branch(c_break, which):
    # At theta = 10 the two branches differ by ~0.15 dex, so the branch is unmistakable.
    theta = 10.0
    below, above = 10 ** (c_break - 1e-7), 10 ** (c_break + 1e-7)
    r68, r95 = kim07_radii([theta, theta], [below, above])
    got = r95 if which == "r95" else r68
    if which == "r95":
        faint = 10 ** (0.1145 * theta - 0.4958 * c_break + 0.1932)
        bright = 10 ** (0.0968 * theta - 0.2064 * c_break - 0.4260)
    else:
        faint = 10 ** (0.1137 * theta - 0.4600 * c_break - 0.2398)
        bright = 10 ** (0.1031 * theta - 0.1945 * c_break - 0.8034)
    assert abs(math.log10(faint / bright)) > 0.1
    assert got[0] == pytest.approx(faint, rel=1e-5)
    assert got[1] == pytest.approx(bright, rel=1e-5)


def test_bright_sources_are_clamped_to_c_3p3():
    theta = 6.0
    at_end = kim_by_hand(theta, 10**3.3)
    df = frame([theta, theta, theta], [10**3.3, 5000.0, 25116.7])
    out = positional_uncertainty(df, (0, 0))
    assert out["pu_method"].tolist() == ["kim07", "kim07_clamped", "kim07_clamped"]
    assert out["pu_1sigma"].to_numpy() == pytest.approx([at_end[0]] * 3, rel=1e-9)
    assert out["pu_2sigma"].to_numpy() == pytest.approx([at_end[1]] * 3, rel=1e-9)


def test_infinite_counts_are_missing_not_clamped():
    # +inf / -inf counts are missing values: no Kim radius, whatever the clamp setting.
    for clamp in (True, False):
        r68, r95 = kim07_radii([5.0, 5.0], [np.inf, -np.inf], clamp=clamp)
        assert np.isnan(r68).all() and np.isnan(r95).all()
    # Finite counts above 10**3.3, however large, are still clamped to C = 3.3; at theta = 5:
    # log r95 = 0.484 - 0.2064*3.3 - 0.426 = -0.62312
    # log r68 = 0.5155 - 0.1945*3.3 - 0.8034 = -0.92975
    r68, r95 = kim07_radii([5.0], [1e300])
    assert r95[0] == pytest.approx(10**-0.62312, rel=1e-12)
    assert r68[0] == pytest.approx(10**-0.92975, rel=1e-12)
    # In a table: inf rows take the ellipse (err_r0 = 1.6, s = 0.5 -> 2σ = sqrt(1.6² + 1²)),
    # the finite bright row is clamped.
    df = frame([5.0, 5.0, 5.0], [np.inf, -np.inf, 1e300], err_r0=[1.6, 1.6, 1.6])
    out = positional_uncertainty(df, (0.3, 0.4))
    assert out["pu_method"].tolist() == ["ellipse", "ellipse", "kim07_clamped"]
    assert out["pu_2sigma"].to_numpy()[:2] == pytest.approx([math.sqrt(3.56)] * 2, rel=1e-12)
    assert out["pu_1sigma"].to_numpy()[:2] == pytest.approx([math.sqrt(0.89)] * 2, rel=1e-12)
    assert out["pu_2sigma"].iloc[2] == pytest.approx(
        math.sqrt(10 ** (2 * -0.62312) + 1.0), rel=1e-12
    )
    # Without an ellipse they are NaN (method 'none'), never a clamped radius.
    with pytest.warns(UserWarning, match="2 rows have no usable theta/counts"):
        out = positional_uncertainty(frame([5.0, 5.0], [np.inf, -np.inf]), (0.3, 0.4))
    assert out["pu_method"].tolist() == ["none", "none"]
    assert out["pu_2sigma"].isna().all()


def test_clamp_off_treats_bright_sources_like_the_guide_code():
    df = frame([6.0], [5000.0], err_r0=[0.8])
    out = positional_uncertainty(df, GUIDE_STD, fallback="zero", clamp=False)
    assert out["pu_method"].tolist() == ["zero"]
    assert out["pu_2sigma"].iloc[0] == pytest.approx(0.974933, abs=1e-6)


# ----------------------------------------------------------------------------- quadrature


def test_quadrature_with_alignment_scatter():
    # std = (0.3, 0.4) -> s = 0.5 exactly; 1σ adds s, 2σ adds 2s = 1.0.
    theta, counts = 4.0, 50.0
    r68, r95 = kim_by_hand(theta, counts)
    out = positional_uncertainty(frame([theta], [counts]), (0.3, 0.4))
    assert out["pu_1sigma"].iloc[0] == pytest.approx(math.sqrt(r68**2 + 0.25), rel=1e-12)
    assert out["pu_2sigma"].iloc[0] == pytest.approx(math.sqrt(r95**2 + 1.0), rel=1e-12)


def test_zero_scatter_gives_the_bare_kim_radii():
    theta, counts = 7.5, 320.0
    r68, r95 = kim_by_hand(theta, counts)
    out = positional_uncertainty(frame([theta], [counts]), (0.0, 0.0))
    assert out["pu_1sigma"].iloc[0] == pytest.approx(r68, rel=1e-12)
    assert out["pu_2sigma"].iloc[0] == pytest.approx(r95, rel=1e-12)


# ----------------------------------------------------------------------------- fallbacks

UNCOVERED = {
    "theta NaN": (np.nan, 50.0),
    "counts zero": (3.0, 0.0),
    "counts one (C = 0)": (3.0, 1.0),
    "counts below one": (3.0, 0.4),
    "counts NaN": (3.0, np.nan),
    "counts +inf": (3.0, np.inf),
    "counts -inf": (3.0, -np.inf),
}


@pytest.mark.parametrize("case", list(UNCOVERED))
def test_ellipse_fallback(case):
    theta, counts = UNCOVERED[case]
    out = positional_uncertainty(frame([theta], [counts], err_r0=[1.6]), (0.3, 0.4))
    # 2σ: sqrt(1.6² + 1.0²) = sqrt(3.56); 1σ: sqrt(0.8² + 0.5²) = sqrt(0.89)
    assert out["pu_method"].iloc[0] == "ellipse"
    assert out["pu_2sigma"].iloc[0] == pytest.approx(math.sqrt(3.56), rel=1e-12)
    assert out["pu_1sigma"].iloc[0] == pytest.approx(math.sqrt(0.89), rel=1e-12)


@pytest.mark.parametrize("case", list(UNCOVERED))
def test_zero_fallback_gives_the_scatter_alone(case):
    theta, counts = UNCOVERED[case]
    out = positional_uncertainty(
        frame([theta], [counts], err_r0=[1.6]), (0.3, 0.4), fallback="zero"
    )
    assert out["pu_method"].iloc[0] == "zero"
    assert out["pu_1sigma"].iloc[0] == pytest.approx(0.5, rel=1e-12)
    assert out["pu_2sigma"].iloc[0] == pytest.approx(1.0, rel=1e-12)


def test_none_fallback_leaves_nan_and_warns():
    df = frame([np.nan, 2.0], [10.0, 10.0], err_r0=[1.6, 1.6])
    with pytest.warns(UserWarning, match="1 rows have no usable theta/counts"):
        out = positional_uncertainty(df, (0.3, 0.4), fallback="none")
    assert out["pu_method"].tolist() == ["none", "kim07"]
    assert np.isnan(out["pu_1sigma"].iloc[0]) and np.isnan(out["pu_2sigma"].iloc[0])
    assert np.isfinite(out["pu_2sigma"].iloc[1])


def test_ellipse_fallback_without_ellipse_is_nan_not_zero():
    with pytest.warns(UserWarning, match="no error ellipse"):
        out = positional_uncertainty(frame([np.nan], [0.0], err_r0=[np.nan]), (0.3, 0.4))
    assert out["pu_method"].tolist() == ["none"]
    assert np.isnan(out["pu_2sigma"].iloc[0])
    with pytest.warns(UserWarning, match="no error ellipse"):
        out = positional_uncertainty(frame([np.nan], [0.0]), (0.3, 0.4))  # no err_r0 column
    assert out["pu_method"].tolist() == ["none"]


def test_method_counts_summary():
    df = frame([2.0, np.nan, 3.0, 4.0], [10.0, 5.0, 0.0, 1e4], err_r0=[1.0, 1.0, np.nan, 1.0])
    with pytest.warns(UserWarning):
        out = positional_uncertainty(df, (0.1, 0.1))
    assert out["pu_method"].tolist() == ["kim07", "ellipse", "none", "kim07_clamped"]
    assert method_counts(out) == {"kim07": 1, "kim07_clamped": 1, "ellipse": 1, "none": 1}


# ----------------------------------------------------------------------------- bad input


def test_negative_counts_is_an_error():
    with pytest.raises(InputError, match="negative counts"):
        positional_uncertainty(frame([2.0, 3.0], [10.0, -4.0]), (0.1, 0.1))


def test_non_numeric_counts_name_the_first_bad_row():
    df = pd.DataFrame({"theta": [2.0, 3.0, 4.0, 5.0], "counts": ["10", None, "12 cts", "n/a"]})
    with pytest.raises(InputError) as info:
        positional_uncertainty(df, (0.1, 0.1))
    message = str(info.value)
    assert "column 'counts' (source counts) must be numeric" in message
    assert "2 row(s) are not numbers" in message
    assert "first: row 2, value '12 cts'" in message


def test_negative_theta_is_an_error():
    with pytest.raises(InputError, match="negative off-axis angle"):
        positional_uncertainty(frame([-2.0], [10.0]), (0.1, 0.1))


def test_theta_in_wrong_unit_warns():
    # 2.5 arcmin given in arcsec
    with pytest.warns(UserWarning, match="theta must be in arcmin"):
        out = positional_uncertainty(frame([150.0], [100.0]), (0.1, 0.1))
    assert out["pu_method"].iloc[0] == "kim07"


def test_plausible_theta_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        positional_uncertainty(frame([29.9, 0.0], [100.0, 5.0]), (0.1, 0.1))


@pytest.mark.parametrize("missing", ["theta", "counts"])
def test_missing_column_is_a_column_error(missing):
    df = frame([2.0], [10.0]).drop(columns=missing)
    with pytest.raises(ColumnError, match=f"no '{missing}' column"):
        positional_uncertainty(df, (0.1, 0.1))


def test_unknown_fallback_is_an_error():
    with pytest.raises(InputError, match="fallback must be"):
        positional_uncertainty(frame([2.0], [10.0]), (0.1, 0.1), fallback="ignore")


def test_input_is_not_modified():
    df = frame([2.0, np.nan], [10.0, 0.0], err_r0=[0.5, 0.7])
    before = df.copy()
    out = positional_uncertainty(df, (0.1, 0.1))
    pd.testing.assert_frame_equal(df, before)
    assert "pu_1sigma" not in df.columns and "pu_1sigma" in out.columns


# ----------------------------------------------------------------------------- sigma_astro forms


def test_astro_std_from_solution_json(tmp_path):
    path = tmp_path / "solution.json"
    path.write_text(
        json.dumps({"format": "xrbid-alignment/1", "method": "median", "std_x": 0.3, "std_y": 0.4})
    )
    out = positional_uncertainty(frame([np.nan], [0.0]), path, fallback="zero")
    assert out["pu_1sigma"].iloc[0] == pytest.approx(0.5)
    assert sigma_astro_of(str(path)) == (0.3, 0.4)


def test_astro_std_from_mapping_and_object():
    class Solution:
        std_x = 0.2223
        std_y = 0.3037

    assert sigma_astro_of(Solution()) == (0.2223, 0.3037)
    assert sigma_astro_of({"std_x": 1, "std_y": 2}) == (1.0, 2.0)
    assert sigma_astro_of(np.array([0.1, 0.2])) == (0.1, 0.2)


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ((0.1,), "got 1"),
        ((0.1, 0.2, 0.3), "got 3"),
        ((0.1, -0.2), ">= 0"),
        ((0.1, float("nan")), "finite"),
        ("not-a-file.json", "no such alignment solution"),
        ({"std_x": 0.1}, "no std_y"),
        ({"std_x": None, "std_y": None}, "scatter is missing"),
        (("a", "b"), "two numbers"),
        ((1e308, 1e308), "at most 324000 arcsec"),
        ({"std_x": 0.1, "std_y": 1e200}, "at most 324000 arcsec"),
    ],
)
def test_bad_astro_std(value, match):
    with pytest.raises(InputError, match=match):
        sigma_astro_of(value)


def test_solution_json_that_is_not_json(tmp_path):
    path = tmp_path / "solution.json"
    path.write_text("std_x = 0.1\n")
    with pytest.raises(InputError, match="not an alignment solution JSON"):
        sigma_astro_of(path)


# ----------------------------------------------------------------------------- the XRBID guide

# (theta, counts) -> (1Sig, 2Sig) as published in the guide's M101 tables, std = (0.3813, 0.3037)
GUIDE_ROWS = [
    (2.687974, 170.006026, 0.499641, 1.003207),
    (2.727056, 254.489381, 0.498084, 0.999338),
    (2.783596, 442.576953, 0.496277, 0.994895),
    (2.690653, 131.798703, 0.502819, 1.014894),
    (2.749161, 649.590529, 0.494942, 0.991738),
    (3.416463, 7.591890, 0.738103, 1.710737),
    (13.486809, 53.481053, 3.190131, 7.658538),
    (1.280763, 234.492581, 0.493011, 0.988256),
    (np.nan, 0.0, 0.487466, 0.974933),
    (10.703677, np.nan, 0.487466, 0.974933),
]


def test_guide_published_radii():
    theta, counts, sig1, sig2 = (np.array(col, float) for col in zip(*GUIDE_ROWS))
    out = positional_uncertainty(frame(theta, counts), GUIDE_STD, fallback="zero")
    # the guide prints six decimals
    assert out["pu_1sigma"].to_numpy() == pytest.approx(sig1, abs=6e-7)
    assert out["pu_2sigma"].to_numpy() == pytest.approx(sig2, abs=6e-7)


@pytest.fixture(scope="module")
def m101(m101_vot):
    from xrbid.tables import read_table

    return read_table(m101_vot)


def test_m101_rows_match_the_guide(m101):
    out = positional_uncertainty(m101, GUIDE_STD, fallback="zero")
    expected = {
        0: (0.499641, 1.003207),
        1: (0.498084, 0.999338),
        2: (0.496277, 0.994895),
        3: (0.502819, 1.014894),
        4: (0.494942, 0.991738),
        3487: (0.487466, 0.974933),
        3488: (0.487466, 0.974933),
        3489: (3.190131, 7.658538),
        3490: (0.487466, 0.974933),
        3491: (0.738103, 1.710737),
    }
    rows = list(expected)
    assert out["source_id"].iloc[0] == "2CXO J140312.5+542056"
    assert out["source_id"].iloc[3491] == "2CXO J140447.2+542633"
    got1 = out["pu_1sigma"].to_numpy()[rows]
    got2 = out["pu_2sigma"].to_numpy()[rows]
    assert got1 == pytest.approx([v[0] for v in expected.values()], abs=6e-7)
    assert got2 == pytest.approx([v[1] for v in expected.values()], abs=6e-7)


def test_m101_methods(m101):
    # SOURCES.txt: theta NaN on 1634 rows, counts 0 on 1566 and NaN on 3; 22 rows are brighter
    # than 10**3.3 counts. No row has a usable theta with counts in (0, 1].
    theta, counts = m101["theta"], m101["counts"]
    uncovered = int((theta.isna() | ~(counts > 1)).sum())
    bright = int((theta.notna() & (counts > 10**3.3)).sum())
    assert bright == 22
    out = positional_uncertainty(m101, GUIDE_STD)
    n = method_counts(out)
    assert n["ellipse"] == uncovered  # every M101 row has an error ellipse
    assert n["kim07_clamped"] == bright
    assert n["kim07"] == len(m101) - uncovered - bright
    # the ellipse rows: 2σ = sqrt(r0² + (2s)²) with the row's own r0
    s = math.hypot(*GUIDE_STD)
    ell = out[out["pu_method"] == "ellipse"]
    assert ell["pu_2sigma"].to_numpy() == pytest.approx(
        np.sqrt(ell["err_r0"].to_numpy() ** 2 + (2 * s) ** 2), rel=1e-12
    )
    assert (out["pu_2sigma"] > out["pu_1sigma"]).all()


def method_by_hand(theta: float, counts: float, r0: float, fallback: str, clamp: bool) -> str:
    """The pu_method rule of one row, written out from the module's documentation."""
    usable = math.isfinite(theta) and math.isfinite(counts) and counts > 1
    if usable and counts <= 10**3.3:
        return "kim07"
    if usable and clamp:
        return "kim07_clamped"
    if fallback == "ellipse" and math.isfinite(r0) and r0 >= 0:
        return "ellipse"
    return "zero" if fallback == "zero" else "none"


@pytest.mark.filterwarnings("ignore:.*rows have no usable theta")
@pytest.mark.parametrize("fallback", ["ellipse", "zero", "none"])
@pytest.mark.parametrize("clamp", [True, False])
def test_pu_method_is_a_categorical_with_the_rule_of_every_row(m101, fallback, clamp):
    table = m101.copy()
    table.loc[::17, "err_r0"] = np.nan  # some rows without an ellipse
    table.loc[::29, "counts"] = np.inf
    out = positional_uncertainty(table, GUIDE_STD, fallback=fallback, clamp=clamp)
    method = out["pu_method"]
    assert isinstance(method.dtype, pd.CategoricalDtype)
    assert list(method.cat.categories) == ["kim07", "kim07_clamped", "ellipse", "zero", "none"]
    expected = [
        method_by_hand(t, c, r, fallback, clamp)
        for t, c, r in zip(table["theta"], table["counts"], table["err_r0"])
    ]
    assert method.astype(str).tolist() == expected
    assert method_counts(out) == {m: expected.count(m) for m in dict.fromkeys(
        ["kim07", "kim07_clamped", "ellipse", "zero", "none"]) if expected.count(m)}  # fmt: skip


@pytest.mark.parametrize("ext", [".ecsv", ".vot", ".fits", ".parquet", ".csv"])
def test_pu_method_written_as_text(m101, tmp_path, ext):
    from xrbid.tables import read_table, write_table

    out = positional_uncertainty(m101.head(200), GUIDE_STD)
    back = read_table(write_table(out, tmp_path / f"pu{ext}"))
    assert back["pu_method"].tolist() == out["pu_method"].astype(str).tolist()


def test_astro_std_from_an_alignment_solution(tmp_path):
    from xrbid.align import AlignmentSolution

    sol = AlignmentSolution(
        method="median",
        shift_x=0.05,
        shift_y=-0.02,
        std_x=0.3,
        std_y=0.4,
        n_used=9,
        significant=False,
        ra0=210.8,
        dec0=54.35,
    )
    path = sol.write_json(tmp_path / "m101_align.json")
    df = frame([np.nan, 4.0], [0.0, 50.0])
    r68, r95 = kim_by_hand(4.0, 50.0)
    for given in (sol, path):
        out = positional_uncertainty(df, given, fallback="zero")
        assert out["pu_1sigma"].to_numpy() == pytest.approx([0.5, math.hypot(r68, 0.5)])
        assert out["pu_2sigma"].to_numpy() == pytest.approx([1.0, math.hypot(r95, 1.0)])
