"""Extinction: A_lambda/E(B-V) at ACS/WFC pivot wavelengths against the published laws.

The two laws are written out here from the papers, independently of ``dust_extinction``:
Cardelli, Clayton & Mathis (1989, ApJ 345, 245) eqs. 2-3 (infrared and optical polynomials),
and Fitzpatrick (1999, PASP 111, 63) Section 3 / Table 3 (natural cubic spline through the
optical and infrared anchor points and two UV points of the Fitzpatrick & Massa parameterisation).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.interpolate import CubicSpline

from xrbid.errors import ColumnError, InputError
from xrbid.photometry.extinction import (
    SFD_TO_SF11,
    a_lambda,
    a_over_ebv,
    deredden,
    extinction_vector,
    pivot_wavelength,
)

# ACS/WFC pivot wavelengths (Angstrom) as listed by Sirianni et al. 2005, Table 10
ACS_PIVOTS = {
    "F435W": 4317.4,
    "F475W": 4744.4,
    "F555W": 5359.6,
    "F606W": 5917.7,
    "F625W": 6310.5,
    "F775W": 7693.0,
    "F814W": 8059.8,
    "F850LP": 9054.8,
}


def ccm89_a_over_av(wave_angstrom: float, rv: float) -> float:
    """CCM89 <A(lambda)/A(V)>, eqs. 2a-b (IR) and 3a-b (optical/NIR), x in 1/micron."""
    x = 1e4 / wave_angstrom
    if 0.3 <= x < 1.1:
        a, b = 0.574 * x**1.61, -0.527 * x**1.61
    elif 1.1 <= x <= 3.3:
        y = x - 1.82
        a = (
            1
            + 0.17699 * y
            - 0.50447 * y**2
            - 0.02427 * y**3
            + 0.72085 * y**4
            + 0.01979 * y**5
            - 0.77530 * y**6
            + 0.32999 * y**7
        )
        b = (
            1.41338 * y
            + 2.28305 * y**2
            + 1.07233 * y**3
            - 5.38434 * y**4
            - 0.62251 * y**5
            + 5.30260 * y**6
            - 2.09002 * y**7
        )
    else:
        raise ValueError(x)
    return a + b / rv


def f99_a_over_ebv(wave_angstrom: float, rv: float) -> float:
    """F99 A(lambda)/E(B-V) in the optical/IR: a cubic spline through the paper's anchors."""
    # Table 3 of Fitzpatrick (1999): A(lambda)/E(B-V) at the optical/IR anchor wavelengths
    anchors_a = [26500.0, 12200.0, 6000.0, 5470.0, 4670.0, 4110.0]
    anchors_y = [
        0.265 * rv / 3.1,
        0.829 * rv / 3.1,
        -0.426 + 1.0044 * rv,
        -0.050 + 1.0016 * rv,
        0.701 + 1.0016 * rv,
        1.208 + 1.0032 * rv - 0.00033 * rv**2,
    ]
    # two UV anchors from the Fitzpatrick & Massa (1990) form with the F99 R-dependent c1, c2
    c2 = -0.824 + 4.717 / rv
    c1 = 2.030 - 3.007 * c2
    x0, gamma, c3 = 4.596, 0.99, 3.23
    uv_x = 1e4 / np.array([2700.0, 2600.0])
    drude = uv_x**2 / ((uv_x**2 - x0**2) ** 2 + (uv_x * gamma) ** 2)
    uv_y = c1 + c2 * uv_x + c3 * drude + rv
    x = np.r_[0.0, 1e4 / np.array(anchors_a), uv_x]
    y = np.r_[0.0, anchors_y, uv_y]
    return float(CubicSpline(x, y, bc_type="natural")(1e4 / wave_angstrom))


def test_shipped_acs_pivots_are_the_published_ones():
    for f, lam in ACS_PIVOTS.items():
        assert pivot_wavelength(f, "ACS/WFC") == pytest.approx(lam, abs=0.05)


@pytest.mark.parametrize("rv", [3.1, 2.5, 5.0])
@pytest.mark.parametrize("filt", sorted(ACS_PIVOTS))
def test_ccm89_at_acs_pivots(filt, rv):
    lam = ACS_PIVOTS[filt]
    expected = rv * ccm89_a_over_av(lam, rv)
    assert a_over_ebv(lam, law="CCM89", rv=rv) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("filt", sorted(ACS_PIVOTS))
def test_f99_at_acs_pivots(filt):
    lam = ACS_PIVOTS[filt]
    assert a_over_ebv(lam, law="F99") == pytest.approx(f99_a_over_ebv(lam, 3.1), rel=1e-6)


def test_f99_is_the_default_and_v_band_gives_rv():
    # by construction A(V)/E(B-V) = R_V near 5470 A (F99 anchor: -0.050 + 1.0016 R)
    assert a_over_ebv(5470.0) == pytest.approx(-0.050 + 1.0016 * 3.1, rel=2e-3)
    assert a_over_ebv(5470.0, rv=4.0) == pytest.approx(-0.050 + 1.0016 * 4.0, rel=2e-3)


def test_a_lambda_scales_with_ebv_and_sfd_convention():
    a = a_lambda(["F555W"], 0.2, law="CCM89")["F555W"]
    assert a == pytest.approx(0.2 * 3.1 * ccm89_a_over_av(5359.6, 3.1), rel=1e-6)
    sfd = a_lambda(["F555W"], 0.2, law="CCM89", ebv_scale="sfd")["F555W"]
    assert sfd == pytest.approx(SFD_TO_SF11 * a, rel=1e-12)


def test_pivot_from_header_wins_and_explicit_pivots():
    assert pivot_wavelength("F555W", header={"PHOTPLAM": 5361.0}) == 5361.0
    a = a_lambda(["F555W"], 1.0, law="CCM89", pivots={"F555W": 6000.0})["F555W"]
    assert a == pytest.approx(3.1 * ccm89_a_over_av(6000.0, 3.1), rel=1e-6)


def test_cmd_vector_length():
    dc, dm = extinction_vector("F555W", "F814W", "F555W", ebv=0.3, law="CCM89")
    a5 = 0.3 * 3.1 * ccm89_a_over_av(5359.6, 3.1)
    a8 = 0.3 * 3.1 * ccm89_a_over_av(8059.8, 3.1)
    assert dc == pytest.approx(a5 - a8, rel=1e-6)
    assert dm == pytest.approx(a5, rel=1e-6)
    assert np.hypot(dc, dm) == pytest.approx(np.hypot(a5 - a8, a5), rel=1e-6)
    # the magnitude axis defaults to the red filter
    assert extinction_vector("F555W", "F814W", ebv=0.3, law="CCM89")[1] == pytest.approx(a8)


def test_deredden_columns():
    t = pd.DataFrame({"f555w_mag": [24.0, 25.0], "f814w_mag": [23.0, 23.5]})
    t["f555w_f814w"] = t["f555w_mag"] - t["f814w_mag"]
    out = deredden(t, 0.1, law="CCM89", distance_modulus=29.0)
    a5 = 0.31 * ccm89_a_over_av(5359.6, 3.1)
    a8 = 0.31 * ccm89_a_over_av(8059.8, 3.1)
    assert out["a_f555w"].tolist() == pytest.approx([a5, a5])
    assert out["f555w_mag_dered"].tolist() == pytest.approx([24.0 - a5, 25.0 - a5])
    assert out["f555w_f814w_dered"].tolist() == pytest.approx([1.0 - a5 + a8, 1.5 - a5 + a8])
    assert out["f814w_abs_mag_dered"].tolist() == pytest.approx([23.0 - a8 - 29, 23.5 - a8 - 29])
    assert "f555w_mag_dered" not in t.columns  # the input is not modified
    assert out.attrs["extinction"]["law"] == "CCM89"


def test_deredden_per_row_ebv():
    t = pd.DataFrame({"f814w_mag": [20.0, 20.0]})
    out = deredden(t, [0.0, 0.5], law="CCM89")
    assert out["a_f814w"].tolist() == pytest.approx([0.0, 0.5 * 3.1 * ccm89_a_over_av(8059.8, 3.1)])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"law": "O94"}, "unknown extinction law"),
        ({"rv": 12.0}, "outside the range"),
        ({"camera": "NICMOS"}, "no pivot-wavelength table"),
        ({"ebv_scale": "planck"}, r"unknown E\(B-V\) scale"),
    ],
)
def test_bad_options(kwargs, message):
    with pytest.raises(InputError, match=message):
        a_lambda(["F555W"], 0.1, **kwargs)


def test_unknown_filter_and_missing_columns():
    with pytest.raises(InputError, match="--pivot F999W=ANGSTROM"):
        a_lambda(["F999W"], 0.1)
    with pytest.raises(InputError, match="must be a finite number"):
        a_lambda(["F555W"], -0.1)
    with pytest.raises(ColumnError, match="no <filter>_mag columns"):
        deredden(pd.DataFrame({"ra": [1.0]}), 0.1)
