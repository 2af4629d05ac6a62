"""Photometric calibration fits on synthetic star lists generated from known coefficients.

Every star list is drawn with a fixed seed: positions on a 4096 x 4096 detector, B - V colours,
airmasses per image, Gaussian noise from per-star errors, and 8% outliers (0.2-2 mag, i.e. at
least 7 sigma). Positions are normalised in the tests themselves (X = (x - 2048)/2048), so the
injected coefficients are defined independently of the code under test.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from xrbid.calibration.photometric import (
    choose_reference_columns,
    fit_photometric,
    join_reference,
    magnitude_columns,
    plot_photometric_residuals,
    plot_residuals,
)
from xrbid.calibration.terms import TermSyntaxError, parse_terms
from xrbid.errors import CalibrationError, ColumnError, InputError, OutputExistsError

NORM = {"xy_center": (2048.0, 2048.0), "xy_scale": 2048.0}
# The star lists inject colour terms on the conventional indices B - V and V - R.
KW = {"ref_mag": "V", "filters": ("B", "V", "R"), "colour_convention": "index", **NORM}


def star_list(
    truth: dict[str, float],
    *,
    n: int = 3000,
    n_images: int = 3,
    seed: int = 1,
    outliers: float = 0.08,
    per_image: dict[str, list[float]] | None = None,
) -> pd.DataFrame:
    """Stars with ``mag - V = sum of truth[term] * term`` plus noise and outliers.

    ``truth`` keys: ZP, the .p3 terms, PR, P2R, PC (B-V), PD (V-R), PA (airmass), PAC, P2C and
    PB (airmass minus its mean over the image).
    ``per_image`` gives one coefficient per image for a term.
    """
    rng = np.random.default_rng(seed)
    image = rng.integers(0, n_images, n)
    airmass = np.linspace(1.05, 1.9, n_images)[image] + rng.normal(0, 0.02, n)
    x, y = rng.uniform(0, 4096, n), rng.uniform(0, 4096, n)
    X, Y = (x - 2048) / 2048, (y - 2048) / 2048
    V = rng.uniform(14, 20, n)
    bv, vr = rng.uniform(-0.2, 1.6, n), rng.uniform(-0.1, 0.9, n)
    err = rng.uniform(0.005, 0.03, n)
    basis = {
        "ZP": np.ones(n),
        "PX": X,
        "PY": Y,
        "PXY": X * Y,
        "P2X": X**2,
        "P2Y": Y**2,
        "P3X": X**3,
        "P2XY": X**2 * Y,
        "PX2Y": X * Y**2,
        "P3Y": Y**3,
        "PR": np.hypot(X, Y),
        "P2R": X**2 + Y**2,
        "PC": bv,
        "PD": vr,
        "PA": airmass,
        "PAC": airmass * bv,
        "P2C": bv**2,
        "PB": airmass - pd.Series(airmass).groupby(image).transform("mean").to_numpy(),
    }
    delta = sum(c * basis[t] for t, c in truth.items())
    for t, coeffs in (per_image or {}).items():
        delta = delta + np.asarray(coeffs)[image] * basis[t]
    mag = V + delta + rng.normal(0, err)
    bad = rng.random(n) < outliers
    mag[bad] += rng.choice([-1.0, 1.0], bad.sum()) * rng.uniform(0.2, 2.0, bad.sum())
    return pd.DataFrame(
        {
            "x": x,
            "y": y,
            "image": np.array([f"img{i}" for i in range(n_images)])[image],
            "airmass": airmass,
            "B": V + bv,
            "V": V,
            "R": V - vr,
            "mag": mag,
            "mag_err": err,
            "is_outlier": bad,
        }
    )


def assert_recovered(sol, truth: dict[str, float], nsigma: float = 3.0) -> None:
    for name, value in truth.items():
        row = sol[name]
        assert row.error > 0, name
        assert abs(row.coefficient - value) < nsigma * row.error, (
            f"{name}: {row.coefficient} +- {row.error}, true {value}"
        )


# ---------------------------------------------------------------------------- exact checks


def test_zero_point_is_weighted_mean_with_its_textbook_error():
    rng = np.random.default_rng(7)
    n, sigma = 400, 0.02
    df = pd.DataFrame({"V": rng.uniform(15, 19, n), "mag_err": sigma})
    df["mag"] = df["V"] - 24.8 + rng.normal(0, sigma, n)
    sol = fit_photometric(df, "", ref_mag="V", clip=100)
    diff = df["mag"] - df["V"]
    assert sol["ZP"].coefficient == pytest.approx(diff.mean(), abs=1e-12)
    # covariance scaled by the reduced chi-square: error = sample std / sqrt(n)
    assert sol["ZP"].error == pytest.approx(diff.std(ddof=1) / np.sqrt(n), rel=1e-9)
    assert sol.n_used == n and sol.dof == n - 1


def test_colour_and_extinction_match_an_independent_least_squares():
    # the textbook's equation: m_instr - m_std = ZP + CT (B-V) + k X, solved with numpy lstsq
    df = star_list({"ZP": -25.1, "PC": 0.06, "PA": 0.18}, n=500, outliers=0.0)
    sol = fit_photometric(df, "&PC,&PA", clip=100, **KW)
    w = 1 / df["mag_err"].to_numpy()
    a = np.column_stack([np.ones(len(df)), df["B"] - df["V"], df["airmass"]])
    yv = (df["mag"] - df["V"]).to_numpy()
    beta, chi2, *_ = np.linalg.lstsq(a * w[:, None], yv * w, rcond=None)
    cov = np.linalg.inv((a * w[:, None] ** 2).T @ a) * chi2[0] / (len(df) - 3)
    for name, b, e in zip(["ZP", "PC", "PA"], beta, np.sqrt(np.diag(cov))):
        assert sol[name].coefficient == pytest.approx(b, abs=1e-9)
        assert sol[name].error == pytest.approx(e, rel=1e-6)


def test_default_normalisation_is_bounding_box():
    df = pd.DataFrame({"x": [100.0, 300.0, 200.0, 150.0], "y": [50.0, 90.0, 70.0, 60.0], "V": 17.0})
    df["mag"] = df["V"] - 25 + 0.1 * (df["x"] - 200) / 100
    sol = fit_photometric(df, "&PX", ref_mag="V", mag_err=None)
    assert sol.xy_center == (200.0, 70.0)
    assert sol.xy_scale == 100.0  # larger half-side
    assert sol["PX"].coefficient == pytest.approx(0.1, abs=1e-9)


# ---------------------------------------------------------------------------- recovery


def test_every_spatial_colour_and_airmass_term_recovered():
    truth = {
        "ZP": -25.3,
        "PX": 0.03,
        "PY": -0.02,
        "PXY": 0.015,
        "P2X": -0.025,
        "P2Y": 0.04,
        "PC": 0.08,
        "PD": -0.05,
        "PA": 0.15,
    }
    df = star_list(truth, seed=11)
    sol = fit_photometric(df, "&.p2,&PC,&PD,&PA", **KW)
    assert_recovered(sol, truth)
    assert sol.chi2_red == pytest.approx(1.0, abs=0.1)


def test_radial_terms_recovered():
    truth = {"ZP": -24.9, "PR": 0.05, "P2R": -0.08, "PC": 0.03}
    df = star_list(truth, seed=12)
    sol = fit_photometric(df, "&.r2,&PC", **KW)
    assert_recovered(sol, truth)


def test_every_third_degree_term_recovered():
    truth = {
        "ZP": -25.0,
        "PX": 0.02,
        "PY": 0.01,
        "PXY": -0.01,
        "P2X": 0.015,
        "P2Y": -0.02,
        "P3X": -0.03,
        "P2XY": 0.02,
        "PX2Y": -0.025,
        "P3Y": 0.03,
    }
    df = star_list(truth, seed=13)
    sol = fit_photometric(df, "&.p3", **KW)
    assert_recovered(sol, truth)


def test_second_order_extinction_colour_squared_and_relative_airmass_recovered():
    truth = {"ZP": -25.0, "PC": 0.05, "PA": 0.2, "PAC": -0.03, "P2C": 0.02, "PB": 0.3}
    df = star_list(truth, seed=19, n=4000)
    sol = fit_photometric(df, "&PC,&PA,&PAC,&.c2,&PB", **KW)
    assert_recovered(sol, truth)


def test_outliers_are_clipped():
    df = star_list({"ZP": -25.0, "PC": 0.05}, seed=14)
    sol = fit_photometric(df, "&PC", **KW)
    outlier = df["is_outlier"].to_numpy()
    assert 0.05 < outlier.mean() < 0.10
    assert not (sol.used & outlier).any()  # every injected outlier (>= 7 sigma) rejected
    assert (~sol.used & ~outlier).sum() < 0.01 * (~outlier).sum()  # few good stars lost


def test_per_image_term_recovered():
    # '*': one PX per image
    px = [0.04, -0.02, 0.01]
    df = star_list({"ZP": -25.2, "PC": 0.05}, per_image={"PX": px}, seed=15)
    sol = fit_photometric(df, "&*PX,&PC", **KW)
    assert sol.images == ["img0", "img1", "img2"]
    for i, value in enumerate(px):
        row = sol[f"PX:img{i}"]
        assert row.image == f"img{i}" and row.term == "PX"
        assert abs(row.coefficient - value) < 3 * row.error
    assert "PX" not in [r.name for r in sol.coefficients]  # no global PX


def test_per_image_zero_points_recovered():
    zps = [-25.0, -25.3, -24.8]
    df = star_list({"PC": 0.05}, per_image={"ZP": zps}, seed=16)
    sol = fit_photometric(df, "&PC", zeropoint="per-image", **KW)
    for i, value in enumerate(zps):
        assert abs(sol[f"ZP:img{i}"].coefficient - value) < 3 * sol[f"ZP:img{i}"].error


def test_fixed_term_is_held_and_others_recovered():
    truth = {"ZP": -25.3, "PC": 0.08, "PA": 0.12}
    df = star_list(truth, seed=17)
    sol = fit_photometric(df, "&PC,#PA=0.12", **KW)
    assert sol["PA"].status == "fixed"
    assert sol["PA"].coefficient == 0.12 and sol["PA"].error == 0.0
    assert_recovered(sol, {"ZP": -25.3, "PC": 0.08})
    # fixing at a wrong value moves the zero point by (wrong - right) * mean airmass
    off = fit_photometric(df, "&PC,#PA=0.22", **KW)
    mean_airmass = df.loc[sol.used, "airmass"].mean()
    shift = off["ZP"].coefficient - sol["ZP"].coefficient
    assert shift == pytest.approx(-0.10 * mean_airmass, abs=0.01)


def test_always_term_stays_even_when_absent():
    df = star_list({"ZP": -25.0, "PC": 0.05}, seed=18)
    sol = fit_photometric(df, "&PC,&PY", **KW)
    assert sol["PY"].status == "always"
    assert abs(sol["PY"].coefficient) < 3 * sol["PY"].error  # consistent with the true 0
    assert "PY" in sol.kept


# ---------------------------------------------------------------------------- stepwise


def test_stepwise_keeps_injected_terms_and_drops_absent_ones():
    truth = {"ZP": -25.3, "PX": 0.03, "P2Y": -0.04, "PC": 0.08, "PA": 0.15}
    df = star_list(truth, seed=21)
    sol = fit_photometric(df, "@.p3,@.r1,@PC,@PD,@PA", **KW)
    assert set(sol.kept) == {"PX", "P2Y", "PC", "PA"}
    assert set(sol.dropped) == {"PY", "PXY", "P2X", "P3X", "P2XY", "PX2Y", "P3Y", "PR", "PD"}
    assert_recovered(sol, truth)
    for name in sol.kept:
        assert sol[name].status == "kept" and sol[name].p_value < sol.alpha
    for name in sol.dropped:
        row = sol[name]
        assert row.status == "dropped" and row.p_value > sol.alpha
        assert abs(row.coefficient) < 4 * row.error  # what it would be if added: ~0


def test_stepwise_finds_a_weak_term_at_many_sigma_and_not_below():
    # a 0.005 mag gradient over 3000 stars is ~10 sigma: kept; with 60 stars it is not
    truth = {"ZP": -25.0, "PX": 0.005}
    big = fit_photometric(star_list(truth, seed=22), "@.p1", **KW)
    assert big.kept == ["PX"]
    small = fit_photometric(star_list(truth, n=60, seed=22, outliers=0.0), "@.p1", **KW)
    assert small.kept == []


def test_stepwise_per_image_group_enters_as_a_whole():
    df = star_list({"ZP": -25.0}, per_image={"PY": [0.03, -0.03, 0.0]}, seed=23)
    sol = fit_photometric(df, "@*PY,@PX", **KW)
    assert sol.kept == ["PY"]
    statuses = {r.status for r in sol.coefficients if r.term == "PY"}
    assert statuses == {"kept"}
    assert len([r for r in sol.coefficients if r.term == "PY"]) == 3


def test_report_rows_and_json():
    df = star_list({"ZP": -25.0, "PC": 0.05}, seed=24)
    sol = fit_photometric(df, "@.p1,&PC,#PA=0.0", **KW)
    table = sol.report()
    assert list(table.columns) == [
        "name", "term", "image", "status", "coefficient", "error", "f_stat", "p_value"
    ]  # fmt: skip
    assert list(table["name"]) == ["ZP", "PX", "PY", "PC", "PA"]
    data = json.loads(json.dumps(sol.to_dict()))
    assert data["resolved_terms"] == "@PX,@PY,&PC,#PA=0"
    assert data["colours"] == {"C": "B - V", "D": "V - R"}
    assert data["n_clipped"] == sol.n_valid - sol.n_used
    assert "F-test" in data["criterion"]


# ---------------------------------------------------------------------------- priority rules
# The parser tests check each rule on the specification; these check the fit obeys them.


def test_fit_rule1_fixed_wins():
    df = star_list({"ZP": -25.0, "PC": 0.08}, seed=31)
    sol = fit_photometric(df, "#PC=0.1,&PC,@PC", **KW)
    assert [r.status for r in sol.coefficients if r.term == "PC"] == ["fixed"]
    assert sol["PC"].coefficient == 0.1


def test_fit_rule2_per_image_beats_global():
    df = star_list({"ZP": -25.0, "PX": 0.02, "PY": 0.01}, seed=32)
    sol = fit_photometric(df, ".p2", per_image_pointing=True, **KW)
    names = [r.name for r in sol.coefficients]
    assert "PX" not in names and "PY" not in names
    assert {"PX:img0", "PX:img1", "PX:img2", "PY:img0", "PY:img1", "PY:img2"} <= set(names)
    sol = fit_photometric(df, "&*PX,@PX", **KW)
    assert [r.name for r in sol.coefficients if r.term == "PX"] == ["PX:img0", "PX:img1", "PX:img2"]


def test_fit_rule3_explicit_beats_default():
    df = star_list({"ZP": -25.0}, seed=33)  # no PY in the data
    always = fit_photometric(df, "&PC,@PX,.p1", default="always", **KW)
    assert always["PY"].status == "always" and always["PX"].status == "dropped"
    stepwise = fit_photometric(df, "&PC,@PX,.p1", default="stepwise", **KW)
    assert stepwise["PY"].status == "dropped" and stepwise["PC"].status == "always"


def test_fit_rule4_always_beats_stepwise():
    df = star_list({"ZP": -25.0}, seed=34)  # PC absent: stepwise alone would drop it
    assert fit_photometric(df, "@PC", **KW)["PC"].status == "dropped"
    assert fit_photometric(df, "&PC,@PC", **KW)["PC"].status == "always"


# ---------------------------------------------------------------------------- applying


def test_apply_gives_standard_magnitudes():
    truth = {"ZP": -25.3, "PX": 0.03, "PC": 0.08}
    df = star_list(truth, seed=41, outliers=0.0)
    sol = fit_photometric(df, "&PX,&PC", **KW)
    out = sol.apply(df)
    assert "mag_cal" not in df.columns  # input untouched
    row = df.iloc[5]
    by_hand = (
        row["mag"]
        - sol["ZP"].coefficient
        - sol["PX"].coefficient * (row["x"] - 2048) / 2048
        - sol["PC"].coefficient * (row["B"] - row["V"])
    )
    assert out["mag_cal"].iloc[5] == pytest.approx(by_hand, abs=1e-12)
    pull = (out["mag_cal"] - df["V"]) / df["mag_err"]
    assert abs(pull.mean()) < 0.1 and pull.std() == pytest.approx(1.0, abs=0.1)
    assert (out["mag_cal_err"] > df["mag_err"]).all()  # model uncertainty added


def test_apply_without_colour_gives_nan():
    df = star_list({"ZP": -25.0, "PC": 0.05}, seed=42)
    sol = fit_photometric(df, "&PC", **KW)
    science = df.head(3).assign(B=np.nan)
    assert sol.apply(science)["mag_cal"].isna().all()


def test_residual_plot_written(tmp_path):
    df = star_list({"ZP": -25.0, "PC": 0.05}, seed=43, n=300)
    sol = fit_photometric(df, "&PC,@.p1", **KW)
    path = tmp_path / "residuals.png"
    plot_residuals(sol, df, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(OutputExistsError):
        plot_residuals(sol, df, path)
    svg = plot_residuals(sol, df, tmp_path / "residuals.svg")
    assert "<svg" in svg.read_text()[:1000]
    from matplotlib.figure import Figure

    fig = Figure()
    axes = fig.subplots(1, 4)
    assert plot_photometric_residuals(sol, df, ax=axes) is fig
    assert axes[0].get_ylabel() == "observed \N{MINUS SIGN} model (mag)"
    with pytest.raises(InputError, match="give 4 axes, not 1"):
        plot_photometric_residuals(sol, df, ax=axes[:1])


# ---------------------------------------------------------------------------- matching


def test_join_reference_by_position():
    stars = pd.DataFrame(
        {
            "ra": [150.0, 150.001, 150.5, 150.0],
            "dec": [2.0, 2.0, 2.0, 2.0 + 0.3 / 3600],
            "image": ["a", "a", "a", "b"],
            "mag": [-8.0, -7.0, -6.0, -8.1],
        }
    )
    ref = pd.DataFrame(
        {"ra": [150.0, 150.001 + 0.5 / 3600], "dec": [2.0 + 0.1 / 3600, 2.0], "V": [17.0, 18.0]}
    )
    out = join_reference(stars, ref, ["V"], max_sep=1.0, image="image")
    assert out["V"].tolist()[:2] == [17.0, 18.0]
    assert np.isnan(out["V"].iloc[2])  # 0.5 deg away
    assert out["V"].iloc[3] == 17.0  # another image may match the same star
    # 0.5 arcsec in RA at Dec 2 deg is 0.5 cos(2 deg) arcsec on the sky
    assert out["ref_sep"].iloc[1] == pytest.approx(0.5 * np.cos(np.radians(2.0)), rel=1e-6)
    assert out["ref_index"].tolist() == [0, 1, -1, 0]
    assert "V" not in stars.columns


def test_join_reference_keeps_nearest_per_image():
    stars = pd.DataFrame({"ra": [150.0, 150.0], "dec": [2.0, 2.0 + 0.4 / 3600], "image": "a"})
    ref = pd.DataFrame({"ra": [150.0], "dec": [2.0 + 0.3 / 3600], "V": [17.0]})
    out = join_reference(stars, ref, ["V"], max_sep=1.0, image="image")
    assert out["ref_index"].tolist() == [-1, 0]


def test_join_reference_no_overlap():
    stars = pd.DataFrame({"ra": [10.0], "dec": [20.0]})
    ref = pd.DataFrame({"ra": [200.0], "dec": [-20.0], "V": [17.0]})
    with pytest.raises(CalibrationError, match=r"no star .* within 1 arcsec"):
        join_reference(stars, ref, ["V"])


def test_join_reference_column_clash():
    stars = pd.DataFrame({"ra": [10.0], "dec": [20.0], "V": [1.0]})
    ref = pd.DataFrame({"ra": [10.0], "dec": [20.0], "V": [17.0]})
    with pytest.raises(ColumnError, match="already has column 'V'"):
        join_reference(stars, ref, ["V"])


# ---------------------------------------------------------------------------- bad input


def test_unknown_term():
    df = star_list({"ZP": -25.0}, n=50)
    with pytest.raises(TermSyntaxError, match="'PQ' at position 5"):
        fit_photometric(df, "&PC,PQ", **KW)


def test_colour_term_without_filters():
    df = star_list({"ZP": -25.0}, n=50)
    with pytest.raises(CalibrationError, match=r"PC uses colour C .* 0 filter\(s\)"):
        fit_photometric(df, "&PC", ref_mag="V", **NORM)
    with pytest.raises(CalibrationError, match=r"PD uses colour D .* give at least 3"):
        fit_photometric(df, "&PD", ref_mag="V", filters=("B", "V"), **NORM)


def test_default_colours_follow_the_term_document():
    # dophot3: C = 2nd filter - 1st (V - B), D = 3rd - 2nd (R - V): the colour coefficients of
    # the B - V / V - R star list come out with the opposite sign, everything else equal
    df = star_list({"ZP": -25.1, "PC": 0.06, "PD": -0.03, "PX": 0.02}, seed=31)
    index = fit_photometric(df, "&PC,&PD,&PX", **KW)
    kw = {k: v for k, v in KW.items() if k != "colour_convention"}
    doc = fit_photometric(df, "&PC,&PD,&PX", **kw)
    assert doc.colour_convention == "dophot3"
    assert doc.to_dict()["colours"] == {"C": "V - B", "D": "R - V"}
    assert doc["PC"].coefficient == pytest.approx(-index["PC"].coefficient, abs=1e-9)
    assert doc["PD"].coefficient == pytest.approx(-index["PD"].coefficient, abs=1e-9)
    assert doc["PX"].coefficient == pytest.approx(index["PX"].coefficient, abs=1e-9)
    assert doc["PC"].coefficient == pytest.approx(-0.06, abs=4 * doc["PC"].error)
    assert np.allclose(doc.apply(df)["mag_cal"], index.apply(df)["mag_cal"], equal_nan=True)
    with pytest.raises(InputError, match="colour_convention"):
        fit_photometric(df, "&PC", colour_convention="B-V", **kw)


def test_colour_term_with_a_missing_filter_column():
    df = star_list({"ZP": -25.0}, n=50).drop(columns="B")
    with pytest.raises(ColumnError, match="no column 'B', needed for colour C of term PC"):
        fit_photometric(df, "&PC", **KW)


def test_too_few_stars_says_how_many_needed():
    df = star_list({"ZP": -25.0}, n=8, outliers=0.0)
    with pytest.raises(
        CalibrationError, match=r"8 usable stars .* 10 free parameters .* at least 11"
    ):
        fit_photometric(df, "@.p3", **KW)


def test_too_few_stars_in_one_image():
    df = star_list({"ZP": -25.0}, n=200, outliers=0.0)
    df = df[(df["image"] != "img2") | (df.index < 40)]
    keep = df[df["image"] == "img2"].index[:1]
    df = df[(df["image"] != "img2") | df.index.isin(keep)]
    with pytest.raises(CalibrationError, match="image 'img2' has 1 usable stars for 2 per-image"):
        fit_photometric(df, "&*PX", zeropoint="per-image", **KW)


def test_degenerate_terms_are_named():
    df = star_list({"ZP": -25.0}, n=300, outliers=0.0)
    with pytest.raises(CalibrationError, match="PY cannot be told apart from ZP, PX"):
        fit_photometric(df.assign(x=df["y"]), "&PX,&PY", **KW)  # stars on the diagonal
    df["airmass"] = df["image"].map({"img0": 1.1, "img1": 1.4, "img2": 1.8})
    with pytest.raises(CalibrationError, match="PA cannot be told apart from ZP:img0"):
        fit_photometric(df, "&PA", zeropoint="per-image", **KW)


def test_radial_term_contained_in_always_terms_is_left_out_with_a_note():
    # R^2 = X^2 + Y^2: '&P2X,&P2Y,&P2R' asks for a singular fit; P2R is left out and noted
    truth = {"ZP": -25.0, "P2X": 0.03, "P2Y": -0.02}
    df = star_list(truth, seed=52, outliers=0.0)
    sol = fit_photometric(df, "&P2X,&P2Y,&P2R", **KW)
    assert "P2R" not in sol.plan and sol.kept == ["P2X", "P2Y"]
    assert any(n.startswith("P2R: equals P2X + P2Y") for n in sol.to_dict()["resolution_notes"])
    for name in ("P2X", "P2Y"):
        assert abs(sol[name].coefficient - truth[name]) < 4 * sol[name].error
    # stepwise P2X: not left out (the selection handles it), and not a singular fit
    assert "P2R" in fit_photometric(df, "@P2X,&P2Y,&P2R", **KW).plan


def test_stepwise_skips_a_degenerate_candidate():
    truth = {"ZP": -25.0, "P2X": 0.03, "P2Y": 0.03}
    df = star_list(truth, seed=51)
    sol = fit_photometric(df, "@.p2,@.r2", **KW)
    kept = set(sol.kept)
    # x^2 + y^2 = r^2: either both P2X and P2Y, or P2R (plus at most one of them)
    assert kept in ({"P2X", "P2Y"}, {"P2R"}, {"P2R", "P2X"}, {"P2R", "P2Y"})
    assert sol.chi2_red == pytest.approx(1.0, abs=0.1)


def test_missing_columns_and_bad_errors():
    df = star_list({"ZP": -25.0}, n=50)
    with pytest.raises(ColumnError, match="no column 'airmass', needed for the airmass terms"):
        fit_photometric(df.drop(columns="airmass"), "&PA", **KW)
    with pytest.raises(ColumnError, match="image"):
        fit_photometric(df.drop(columns="image"), "&*PX", **KW)
    with pytest.raises(InputError, match="zero magnitude error"):
        fit_photometric(df.assign(mag_err=0.0), "", **KW)
    with pytest.raises(ColumnError, match="standard magnitude"):
        fit_photometric(df, "", ref_mag="Vmag", **NORM)


# ---------------------------------------------------------------------------- real data


def test_real_gaia_dr3_bp_against_g(testdata):
    """Fit real Gaia DR3 BP magnitudes onto G with the colour BP - RP (50 stars, shipped).

    Independent expectations: both are Vega magnitudes, so a star of zero colour has BP = G
    (zero point 0); G extends redder than BP, so BP - G grows with BP - RP (PC > 0); and the
    relation is curved (Riello et al. 2021 describe it with polynomials), so P2C is needed.
    """
    path = testdata / "gaia-dr3-astroquery" / "cone_search.json"
    raw = json.loads(path.read_text())
    gaia = pd.DataFrame(raw["data"], columns=[m["name"] for m in raw["metadata"]])
    gaia["bp_err"] = 2.5 / np.log(10) / gaia["phot_bp_mean_flux_over_error"]
    kwargs = {
        "ref_mag": "phot_g_mean_mag",
        "mag": "phot_bp_mean_mag",
        "mag_err": "bp_err",
        "filters": ("phot_bp_mean_mag", "phot_rp_mean_mag"),
        "colour_convention": "index",  # C = BP - RP
        "error_floor": 0.01,
    }
    sol = fit_photometric(gaia, "&.c2", **kwargs)
    assert sol.n_valid == 50
    assert abs(sol["ZP"].coefficient) < 3 * sol["ZP"].error
    assert sol["PC"].coefficient > 3 * sol["PC"].error
    assert sol["P2C"].p_value < 0.01
    # a straight line cannot pass through zero at zero colour
    line = fit_photometric(gaia, "&PC", **kwargs)
    assert abs(line["ZP"].coefficient) > 5 * line["ZP"].error


# ---------------------------------------------------------------- choosing catalogue columns


def _catalogue(*names: str) -> pd.DataFrame:
    return pd.DataFrame({"ra": [1.0], "dec": [2.0], **{n: [15.0] for n in names}})


def test_magnitude_columns_skip_errors_and_positions():
    ref = _catalogue("Vmag", "e_Vmag", "B_mag", "B_mag_err", "gmag", "pm_ra", "x")
    assert magnitude_columns(ref) == ["Vmag", "B_mag", "gmag"]


def test_colour_filters_ordered_by_wavelength():
    """Bessell (2005) order U < B < V < R < I whatever the column order."""
    ref = _catalogue("Rmag", "V", "I", "B", "U")
    plan = parse_terms("&PC,&PD")
    _, filters, notes = choose_reference_columns(_catalogue(), ref, ref_mag="V", plan=plan)
    assert filters == ("U", "B", "V", "Rmag", "I")
    assert notes == ["--filters U,B,V,Rmag,I from the catalogue, bluest first"]


def test_sdss_r_is_not_cousins_r():
    ref = _catalogue("R", "g")
    with pytest.raises(CalibrationError, match=r"no magnitude column\(s\) for r.*--ref-mag"):
        choose_reference_columns(_catalogue(), ref, filter_name="r")
    assert choose_reference_columns(_catalogue(), ref, filter_name="R")[0] == "R"


def test_hst_filter_maps_to_its_standard_band():
    stars = _catalogue().assign(filter="F814W")
    ref_mag, filters, notes = choose_reference_columns(stars, _catalogue("V", "Imag"))
    assert (ref_mag, filters) == ("Imag", ())
    assert notes == ["--ref-mag Imag from filter F814W"]


def test_hst_filter_named_in_catalogue_wins():
    stars = _catalogue().assign(filter="F555W")
    assert choose_reference_columns(stars, _catalogue("V", "f555w"))[0] == "f555w"


def test_single_magnitude_column_needs_no_filter():
    assert choose_reference_columns(_catalogue(), _catalogue("Gmag", "e_Gmag"))[0] == "Gmag"


def test_several_filters_in_photometry_is_no_filter():
    stars = pd.DataFrame({"ra": [1.0, 1.0], "dec": [2.0, 2.0], "filter": ["F435W", "F555W"]})
    with pytest.raises(CalibrationError, match=r"add --ref-mag COLUMN or --filter NAME"):
        choose_reference_columns(stars, _catalogue("B", "V"))


def test_unknown_band_needs_explicit_filters():
    with pytest.raises(CalibrationError, match=r"add --filters .*candidates: V, mag_x"):
        choose_reference_columns(
            _catalogue(), _catalogue("V", "mag_x"), ref_mag="V", plan=parse_terms("&PC")
        )


def test_calibrate_photometry_joins_fits_and_applies():
    from xrbid.calibration import calibrate_photometry

    rng = np.random.default_rng(7)
    n = 300
    ref = pd.DataFrame(
        {
            "ra": 150.0 + rng.uniform(-0.02, 0.02, n),
            "dec": 2.0 + rng.uniform(-0.02, 0.02, n),
            "V": rng.uniform(16, 20, n),
        }
    )
    ref["B"] = ref["V"] + rng.uniform(-0.2, 1.5, n)
    # the photometry: the same stars 0.1" away, m = V - 25.1 + 0.07 (B - V) + noise
    stars = pd.DataFrame(
        {
            "ra": ref["ra"],
            "dec": ref["dec"] + 0.1 / 3600,
            "mag_err": 0.01,
            "mag": ref["V"] - 25.1 + 0.07 * (ref["B"] - ref["V"]) + rng.normal(0, 0.01, n),
        }
    )
    table, sol, notes = calibrate_photometry(stars, ref, "&PC", ref_mag="V", filters=("B", "V"))
    assert notes == []  # nothing was derived
    assert sol["ZP"].coefficient == pytest.approx(-25.1, abs=0.005)
    # dophot3's colour convention, the default: C = 2nd - 1st filter = V - B, so the
    # injected +0.07 (B - V) is a colour coefficient of -0.07
    assert sol.colours["C"] == "V - B"
    assert sol["PC"].coefficient == pytest.approx(-0.07, abs=0.005)
    # calibrated magnitudes are the catalogue's V to the noise (0.01 mag)
    assert np.std(table["calib_residual"]) == pytest.approx(0.01, rel=0.15)
    assert (table["V"] == ref["V"]).all() and table["calib_used"].sum() == sol.n_used
    assert "mag_cal" not in stars.columns  # the input is not modified
