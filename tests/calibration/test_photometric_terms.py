"""Every -U line of the dophot3 term document, fitted on synthetic stars containing its terms.

The stars are drawn with known coefficients for the terms each line resolves to; the model
is evaluated here from the variables' definitions (docs/calibration-photometric.md), not with
the fitting code. Each fitted term must come back within 4 sigma, fixed terms at their value,
stepwise terms that were put in must be kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xrbid.calibration.photometric import fit_photometric
from xrbid.calibration.terms import parse_terms, without_dependent_radial
from xrbid.errors import CalibrationError

from .document_lines import DOCUMENT_LINES

IMAGES = ("a", "b", "c")
CENTER, SCALE = 1024.0, 1024.0
FILTERS = ("B", "V", "R", "I")
KW = {"ref_mag": "V", "filters": FILTERS, "xy_center": (CENTER, CENTER), "xy_scale": SCALE}
ZP = -25.2
NOISE = 0.01
PER_IMAGE = [0.02, -0.03, 0.04]
# stepwise terms that get a value (the others are drawn with 0 and should be dropped)
INJECT_STEPWISE = {"PXY": -0.03, "P3X": 0.025, "PC": 0.05, "PD": -0.04, "P2D": 0.03,
                   "PR": 0.03, "SX": 0.02, "SC": 0.6}  # fmt: skip


def _stars(seed: int, n: int = 2500) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    image = rng.choice(IMAGES, n)
    airmass = pd.Series(image).map({"a": 1.1, "b": 1.5, "c": 1.9}).to_numpy()
    v = rng.uniform(14, 19, n)
    bv = rng.uniform(-0.2, 1.5, n)
    vr = 0.5 * bv + rng.normal(0, 0.15, n)
    ri = 0.4 * bv + rng.normal(0, 0.15, n)
    return pd.DataFrame(
        {
            "x": rng.uniform(0, 2048, n),
            "y": rng.uniform(0, 2048, n),
            "image": image,
            "airmass": airmass + rng.normal(0, 0.05, n),
            "B": v + bv,
            "V": v,
            "R": v - vr,
            "I": v - vr - ri,
            "mag_err": NOISE,
        }
    )


def _variables(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """The variables as docs/calibration-photometric.md defines them (dophot3 colours)."""
    X = (df["x"].to_numpy() - CENTER) / SCALE
    Y = (df["y"].to_numpy() - CENTER) / SCALE
    A = df["airmass"].to_numpy()
    return {
        "X": X,
        "Y": Y,
        "R": np.hypot(X, Y),
        "A": A,
        "B": A - df.groupby("image")["airmass"].transform("mean").to_numpy(),
        "C": (df["V"] - df["B"]).to_numpy(),
        "D": (df["R"] - df["V"]).to_numpy(),
        "E": (df["I"] - df["R"]).to_numpy(),
    }


def _sc(v: float, dm: np.ndarray, d0: np.ndarray, dp: np.ndarray) -> np.ndarray:
    """SC(v) as docs/calibration-photometric.md writes it (the reference filter second)."""
    w1, w2 = (1 - np.sin(np.pi * v)) / 2, (1 + np.sin(np.pi * v)) / 2
    if v < -0.5:
        return v * dm
    if v < 0.5:
        return w1 * v * dm + w2 * v * d0
    if v <= 1.5:
        return d0 + w2 * (v - 1) * d0 + w1 * (v - 1) * dp
    return d0 + (v - 1) * dp


def _column(name: str, df: pd.DataFrame, var: dict[str, np.ndarray]) -> np.ndarray:
    if name == "SX":
        return np.sin(np.pi * (df["x"].to_numpy() % 1.0))
    out = np.ones(len(df))
    for v, e in parse_terms(f"&{name}").terms[0].term.powers:
        out = out * var[v] ** e
    return out


def _truth(plan) -> dict[str, float | list[float]]:
    truth: dict[str, float | list[float]] = {}
    for k, t in enumerate(plan.terms):
        if t.mode == "fixed":
            truth[t.name] = t.value
        elif t.mode == "always":
            truth[t.name] = PER_IMAGE if t.per_image else (0.03 if k % 2 else -0.025)
        else:
            value = INJECT_STEPWISE.get(t.name, 0.0)
            truth[t.name] = [value * f for f in (1.0, -0.5, 1.5)] if t.per_image else value
    return truth


def _observed(df: pd.DataFrame, truth: dict, seed: int) -> np.ndarray:
    var = _variables(df)
    img = pd.Series(df["image"]).map({im: i for i, im in enumerate(IMAGES)}).to_numpy()
    mag = df["V"].to_numpy() + ZP
    for name, value in truth.items():
        if name == "SC":
            mag = mag + _sc(value, var["C"], var["D"], var["E"])
        elif isinstance(value, list):
            mag = mag + np.asarray(value)[img] * _column(name, df, var)
        else:
            mag = mag + value * _column(name, df, var)
    return mag + np.random.default_rng(seed + 1).normal(0, NOISE, len(df))


def _check(sol, truth: dict, plan) -> None:
    assert abs(sol["ZP"].coefficient - ZP) < 4 * sol["ZP"].error
    for t in plan.terms:
        value = truth[t.name]
        if t.mode == "fixed":
            assert sol[t.name].status == "fixed" and sol[t.name].coefficient == t.value
            continue
        names = [f"{t.name}:{im}" for im in IMAGES] if t.per_image else [t.name]
        values = value if isinstance(value, list) else [value]
        injected = any(v != 0 for v in values)
        for name, v in zip(names, values):
            row = sol[name]
            if t.mode == "always":
                assert row.status == "always", name
            elif injected:
                assert row.status == "kept", (name, row)
            if row.status in ("always", "kept"):
                assert abs(row.coefficient - v) < 4 * row.error, (name, v, row)


@pytest.mark.parametrize(
    ("y_option", "spec"),
    [(y, spec) for y, spec, _ in DOCUMENT_LINES],
    ids=[("-y " if y else "") + spec for y, spec, _ in DOCUMENT_LINES],
)
def test_every_document_line_fits_its_terms(y_option, spec):
    seed = sum(map(ord, spec)) + y_option
    df = _stars(seed)
    plan = without_dependent_radial(parse_terms(spec, per_image_pointing=y_option))
    truth = _truth(plan)
    df["mag"] = _observed(df, truth, seed)
    sol = fit_photometric(df, spec, per_image_pointing=y_option, **KW)
    _check(sol, truth, plan)


def test_direct_by_default_fits_its_terms():
    # "Direct by default (--use-stepwise=False): -U '.p2,.r2'": all always; P2R = P2X + P2Y
    # is then left out (and said so)
    df = _stars(77)
    plan = without_dependent_radial(parse_terms(".p2,.r2", default="always"))
    assert "P2R" not in plan and "PR" in plan
    truth = _truth(plan)
    df["mag"] = _observed(df, truth, 77)
    sol = fit_photometric(df, ".p2,.r2", default="always", **KW)
    _check(sol, truth, plan)
    assert any(n.startswith("P2R: equals P2X + P2Y") for n in sol.plan.notes)


# ---------------------------------------------------------------- the special terms, one by one


def _with(df: pd.DataFrame, extra: np.ndarray, seed: int) -> pd.DataFrame:
    out = df.copy()
    noise = np.random.default_rng(seed).normal(0, NOISE, len(df))
    out["mag"] = df["V"].to_numpy() + ZP + extra + noise
    return out


def test_subpixel_terms_recovered():
    df = _stars(101)
    fx = np.sin(np.pi * (df["x"].to_numpy() % 1.0))
    fy = np.sin(np.pi * (df["y"].to_numpy() % 1.0))
    truth = {"SX": 0.03, "SY": -0.02, "SXY": 0.025}
    df = _with(df, 0.03 * fx - 0.02 * fy + 0.025 * fx * fy, 101)
    sol = fit_photometric(df, "&.s", **KW)
    for name, value in truth.items():
        assert sol[name].status == "always"
        assert abs(sol[name].coefficient - value) < 4 * sol[name].error
    # stepwise: the absent one is dropped
    df = _with(_stars(102), 0.03 * np.sin(np.pi * (_stars(102)["x"].to_numpy() % 1.0)), 102)
    sol = fit_photometric(df, "@.s", **KW)
    assert sol.kept == ["SX"] and set(sol.dropped) == {"SY", "SXY"}


@pytest.mark.parametrize(("smooth", "v"), [(False, 0.35), (False, -0.4), (False, 1.3),
                                           (True, 0.6), (True, -0.25)])  # fmt: skip
def test_universal_colour_position_recovered(smooth, v):
    df = _stars(110 + int(10 * v))
    var = _variables(df)
    c, d, e = var["C"], var["D"], var["E"]
    if smooth:
        extra = _sc(v, c, d, e)
    else:  # the band interpolated between the filters, by hand: position 1 + v among B,V,R,I
        mags = df[list(FILTERS)].to_numpy()
        k = int(np.clip(np.floor(1 + v), 0, 2))
        extra = mags[:, k] + (1 + v - k) * (mags[:, k + 1] - mags[:, k]) - mags[:, 1]
    name = "SC" if smooth else "XC"
    sol = fit_photometric(_with(df, extra, 7), f"&{name}", **KW)
    assert sol[name].status == "always"
    assert abs(sol[name].coefficient - v) < 4 * sol[name].error
    assert sol[name].error < 0.01
    assert abs(sol["ZP"].coefficient - ZP) < 4 * sol["ZP"].error


def test_universal_colour_stepwise_and_fixed():
    df = _with(_stars(120), 0.0, 120)
    sol = fit_photometric(df, "@XC", **KW)
    assert sol["XC"].status == "dropped" and sol.kept == []
    assert sol.shape["XC"] == 0.0
    var = _variables(_stars(121))
    df = _with(_stars(121), 0.5 * var["D"], 121)
    fixed = fit_photometric(df, "#XC=0.5", **KW)  # held: nothing left to fit but ZP
    assert abs(fixed["ZP"].coefficient - ZP) < 4 * fixed["ZP"].error
    assert fixed["XC"].status == "fixed"


def test_universal_colour_needs_the_standard_filter_between_others():
    df = _with(_stars(130), 0.0, 130)
    with pytest.raises(CalibrationError, match=r"standard magnitude 'V' is filter 2 of 3"):
        fit_photometric(df, "&XC", **{**KW, "filters": ("B", "V", "R")})
    with pytest.raises(CalibrationError, match=r"'V' is not among them"):
        fit_photometric(df, "&SC", **{**KW, "filters": ("B", "R", "I", "V")[:3]})


def test_nonlinearity_terms_recovered():
    # m = V + ZP + RS u / (1 + RC u^2), u = Nc - m (Nc: the instrumental magnitude at the
    # centre), solved for m by fixed-point iteration
    rs, rc, nc = 0.06, 0.15, -9.0
    df = _stars(140)
    df["V"] = np.random.default_rng(140).uniform(12, 20, len(df))
    base = df["V"].to_numpy() + ZP + np.random.default_rng(141).normal(0, NOISE, len(df))
    m = base.copy()
    for _ in range(200):
        u = nc - m
        m = base + rs * u / (1 + rc * u * u)
    df["mag"] = m
    sol = fit_photometric(df, "&.l", **KW)
    n0 = sol.shape["n0"]
    assert n0 == pytest.approx(np.median(m))
    assert abs(sol["RS"].coefficient - rs) < 4 * sol["RS"].error
    assert abs(sol["RC"].coefficient - rc) < 4 * sol["RC"].error
    assert abs(n0 + sol["RO"].coefficient - nc) < 4 * sol["RO"].error
    assert sol.to_dict()["n_center"] == pytest.approx(n0)
    # the calibrated magnitudes give back V
    out = sol.apply(df)
    assert np.std(out["mag_cal"] - out["V"] - 0.0) < 1.5 * NOISE
    # without a non-linearity the stepwise RS is dropped, and RO, RC with it
    flat = df.assign(mag=base)
    sol = fit_photometric(flat, "@RS,@RO,@RC", **KW)
    assert {sol[n].status for n in ("RS", "RO", "RC")} == {"dropped"}


def test_polynomial_airmass_colour_and_magnitude_terms_recovered():
    # the document's PA, PAC (atmospheric reddening), PB, PBC and PN
    df = _stars(150)
    var = _variables(df)
    truth = {"PA": 0.12, "PAC": -0.04, "PB": 0.2, "PBC": 0.1}
    extra = sum(v * _column(k, df, var) for k, v in truth.items())
    df = _with(df, extra, 150)
    sol = fit_photometric(df, "&PA,&PAC,&PB,&PBC", **KW)
    for name, value in truth.items():
        assert abs(sol[name].coefficient - value) < 4 * sol[name].error, name
    # PN: m = V + ZP + k m  ->  m = (V + ZP) / (1 - k)
    k = 0.02
    df = _stars(151)
    df["mag"] = (df["V"] + ZP) / (1 - k) + np.random.default_rng(151).normal(0, NOISE, len(df))
    sol = fit_photometric(df, "&PN", **KW)
    assert abs(sol["PN"].coefficient - k) < 4 * sol["PN"].error


def test_per_image_nonlinear_term_is_refused():
    df = _with(_stars(160), 0.0, 160)
    with pytest.raises(CalibrationError, match=r"&\*SC: a non-linear term"):
        fit_photometric(df, "&*SC", **KW)


def test_apply_uses_the_fitted_nonlinear_values_and_their_errors():
    df = _stars(170)
    var = _variables(df)
    df = _with(df, _sc(0.6, var["C"], var["D"], var["E"]) + 0.03 * var["X"], 170)
    sol = fit_photometric(df, "&SC,&PX", **KW)
    out = sol.apply(df)
    resid = out["mag_cal"] - out["V"]
    assert abs(resid.mean()) < 0.002 and resid.std() < 1.2 * NOISE
    # the model uncertainty propagates the covariance of (ZP, PX, SC) through the model's
    # derivatives, here taken from this file's own SC formula
    v, h = sol["SC"].coefficient, 1e-6
    d_sc = np.array(
        [(_sc(v + h, c, d, e) - _sc(v - h, c, d, e)) / (2 * h)
         for c, d, e in zip(var["C"][:50], var["D"][:50], var["E"][:50])]
    )  # fmt: skip
    jac = np.column_stack([np.ones(50), var["X"][:50], d_sc])
    expected = np.einsum("ij,jk,ik->i", jac, sol.covariance, jac)
    np.testing.assert_allclose(out["mag_cal_err"][:50] ** 2 - NOISE**2, expected, rtol=1e-3)
    data = sol.to_dict()
    assert data["nonlinear"]["SC"] == pytest.approx(sol["SC"].coefficient)
    assert data["covariance"]["parameters"] == ["ZP", "PX", "SC"]


def test_rational_terms_on_stars_without_curvature_are_refused_not_fitted():
    """On linear stars RS*RO trades against the zero point: no meaningful fit exists.

    Before the degeneracy check this returned ZP -56 +- 2870 and RO 148 +- 6795 without a word.
    """
    df = _with(_stars(131), 0.0, 131)
    with pytest.raises(CalibrationError, match="cannot be told apart"):
        fit_photometric(df, "&.l", **KW)
    # stepwise, the same terms are simply not kept
    sol = fit_photometric(df, "@.l", **KW)
    assert not {"RS", "RO", "RC"} & set(sol.kept)
