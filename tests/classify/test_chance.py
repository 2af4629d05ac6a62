"""Chance coincidences on simulated uniform fields, where the true density is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xrbid.classify.chance import (
    candidate_chance,
    chance_coincidences,
    false_match_rate,
    local_density,
)
from xrbid.errors import ColumnError, InputError
from xrbid.sky import from_tangent_plane

RA0, DEC0 = 210.8, 54.35
RHO = 0.05  # optical sources per arcsec^2
HALF = 200.0  # the optical field is a 400" x 400" square


def sky(x, y):
    ra, dec = from_tangent_plane(np.asarray(x, float), np.asarray(y, float), RA0, DEC0)
    return ra, dec


def uniform_field(seed=1, rho=RHO, half=HALF, mags=False):
    rng = np.random.default_rng(seed)
    n = rng.poisson(rho * (2 * half) ** 2)
    x, y = rng.uniform(-half, half, (2, n))
    ra, dec = sky(x, y)
    df = pd.DataFrame({"ra": ra, "dec": dec, "x": x, "y": y})
    if mags:
        df["f555w_mag"] = rng.uniform(20.0, 28.0, n)
    return df


def xray_grid(r1=1.2, r2=2.0, step=70.0, extent=140.0):
    g = np.arange(-extent, extent + 1, step)
    x, y = (a.ravel() for a in np.meshgrid(g, g))
    ra, dec = sky(x, y)
    return pd.DataFrame(
        {
            "source_id": [f"X{i}" for i in range(x.size)],
            "ra": ra,
            "dec": dec,
            "pu_1sigma": r1,
            "pu_2sigma": r2,
            "x": x,
            "y": y,
        }
    )


def test_uniform_field_density_within_poisson_error():
    opt, xr = uniform_field(), xray_grid()
    dens = local_density(xr, opt, annulus=(5.0, 20.0))
    area = np.pi * (20.0**2 - 5.0**2)
    # no other X-ray circle inside any annulus, all annuli inside the field
    assert dens["annulus_area"].to_numpy() == pytest.approx(area, rel=0.01)
    z = (dens["density"] - RHO) / (np.sqrt(RHO * area) / area)
    assert np.all(np.abs(z) < 4)
    pooled = dens["n_annulus"].sum() / dens["annulus_area"].sum()
    assert abs(pooled - RHO) < 3 * np.sqrt(RHO * area * len(xr)) / (area * len(xr))
    assert dens["density_err"].to_numpy() == pytest.approx(
        np.sqrt(dens["n_annulus"]) / dens["annulus_area"]
    )


def test_uniform_field_gives_pi_r2_rho_inside_the_circles():
    """The unrelated sources really inside the 2-sigma circles: pi r^2 rho within Poisson."""
    opt, xr = uniform_field(seed=2), xray_grid(r2=3.0)
    cc = chance_coincidences(xr, opt, annulus=(5.0, 25.0))
    expected = np.pi * 3.0**2 * RHO
    assert cc["n_chance_2sigma"].mean() == pytest.approx(expected, rel=0.1)
    assert cc["p_chance_2sigma"].to_numpy() == pytest.approx(
        1 - np.exp(-cc["n_chance_2sigma"].to_numpy())
    )
    assert cc["n_chance_1sigma"].to_numpy() == pytest.approx(
        np.pi * 1.2**2 * cc["density"].to_numpy()
    )
    # count the optical sources inside each circle directly (flat geometry, by hand)
    d = np.hypot(
        opt["x"].to_numpy()[None, :] - xr["x"].to_numpy()[:, None],
        opt["y"].to_numpy()[None, :] - xr["y"].to_numpy()[:, None],
    )
    observed = int((d <= 3.0).sum())
    total_expected = float(cc["n_chance_2sigma"].sum())
    assert abs(observed - total_expected) < 3 * np.sqrt(total_expected)


def test_other_xray_circles_are_left_out():
    opt = uniform_field(seed=3)
    xr = xray_grid().iloc[:1].copy()
    # a second X-ray source 10" away, its 2-sigma circle full of optical sources
    ra2, dec2 = sky([-130.0], [-140.0])
    extra = pd.DataFrame(
        {
            "source_id": ["Y"],
            "ra": ra2,
            "dec": dec2,
            "pu_1sigma": 2.0,
            "pu_2sigma": 3.0,
            "x": [-130.0],
            "y": [-140.0],
        }
    )
    xr = pd.concat([xr, extra], ignore_index=True)
    rng = np.random.default_rng(0)
    cx, cy = -130.0 + rng.uniform(-1, 1, 200), -140.0 + rng.uniform(-1, 1, 200)
    cra, cdec = sky(cx, cy)
    crowded = pd.concat([opt, pd.DataFrame({"ra": cra, "dec": cdec})], ignore_index=True)
    with_cluster = local_density(xr, crowded, annulus=(5.0, 20.0), n_area=4096)
    without = local_density(xr, opt, annulus=(5.0, 20.0), n_area=4096)
    assert with_cluster["n_annulus"].tolist() == without["n_annulus"].tolist()
    # the first annulus loses the other source's circle: pi 3^2
    full = np.pi * (20.0**2 - 5.0**2)
    assert with_cluster["annulus_area"][0] == pytest.approx(full - np.pi * 9.0, rel=0.01)


def test_magnitude_limited_counts_by_hand():
    opt = uniform_field(seed=4, mags=True)
    xr = xray_grid()
    cands = pd.DataFrame({"source_id": ["X0", "X0", "X12"], "f555w_mag": [22.0, 26.5, 24.0]})
    out = candidate_chance(
        cands, xr, opt, mag_column="f555w_mag", annulus=(5.0, 20.0), footprint="none"
    )
    area = np.pi * (20.0**2 - 5.0**2)
    for row in out.itertuples():
        src = xr.set_index("source_id").loc[row.source_id]
        d = np.hypot(opt["x"] - src["x"], opt["y"] - src["y"])
        n = int(((d >= 5.0) & (d <= 20.0) & (opt["f555w_mag"] <= row.f555w_mag)).sum())
        assert row.density == pytest.approx(n / area, rel=2e-3)
        assert row.n_chance == pytest.approx(np.pi * 2.0**2 * n / area, rel=2e-3)
        assert row.p_chance == pytest.approx(1 - np.exp(-row.n_chance))
    # a brighter candidate can only have fewer chance companions
    assert out["n_chance"][0] < out["n_chance"][1]
    # no magnitude limit: the source's whole density
    plain = candidate_chance(cands, xr, opt, annulus=(5.0, 20.0))
    dens = local_density(xr, opt, annulus=(5.0, 20.0)).set_index("source_id")["density"]
    assert plain["density"].tolist() == pytest.approx(dens[["X0", "X0", "X12"]].tolist())


def test_shifted_catalogue_rate_agrees_with_density():
    opt, xr = uniform_field(seed=5), xray_grid(r2=2.5)
    fm = false_match_rate(xr, opt, n_shifts=200, shift=(10.0, 50.0), seed=1)
    assert fm.n_trials > 3000
    assert fm.density == pytest.approx(RHO, rel=0.05)
    assert abs(fm.rate - fm.expected) < 3 * fm.rate_err
    # and with the per-source estimate of chance_coincidences
    cc = chance_coincidences(xr, opt, annulus=(5.0, 20.0))
    assert abs(fm.rate - cc["p_chance_2sigma"].mean()) < 3 * fm.rate_err + 0.02
    assert fm.to_dict()["n_shifts"] == 200


def test_errors():
    opt, xr = uniform_field(), xray_grid()
    with pytest.raises(InputError, match="annulus"):
        local_density(xr, opt, annulus=(20.0, 5.0))
    with pytest.raises(ColumnError, match="pu_2sigma"):
        local_density(xr.drop(columns="pu_2sigma"), opt)
    with pytest.raises(InputError, match="empty"):
        local_density(xr, opt.iloc[:0])
    with pytest.raises(ColumnError, match="missing from the X-ray table"):
        candidate_chance(pd.DataFrame({"source_id": ["nope"]}), xr, opt)


def test_shifted_circles_over_real_ones_are_dropped():
    """A dense X-ray field (sources 12" apart, 2-sigma 3"): shifted circles that overlap a
    real circle would find fewer sources (those there are left out) and bias the rate low."""
    opt = uniform_field(seed=6, rho=0.1)
    xr = xray_grid(r2=3.0, step=12.0, extent=120.0)
    fm = false_match_rate(xr, opt, n_shifts=200, shift=(10.0, 60.0), seed=2)
    assert fm.n_trials > 1000
    assert abs(fm.rate - fm.expected) < 3 * fm.rate_err
    assert fm.density == pytest.approx(0.1, rel=0.05)


def test_annulus_cut_by_the_footprint_edge():
    """A source 10" inside the field edge: the annulus loses the circular segment beyond the
    edge, R^2 acos(d/R) - d sqrt(R^2 - d^2) with R = 20", d = 10" (the inner 5" circle is
    whole), and the density is still the field's."""
    opt = uniform_field(seed=7, rho=0.2)
    ra, dec = sky([HALF - 10.0], [0.0])
    xr = pd.DataFrame(
        {"source_id": ["E"], "ra": ra, "dec": dec, "pu_1sigma": 0.5, "pu_2sigma": 1.0}
    )
    dens = local_density(xr, opt, annulus=(5.0, 20.0), n_area=4096)
    segment = 400.0 * np.arccos(0.5) - 10.0 * np.sqrt(300.0)
    expected = np.pi * (20.0**2 - 5.0**2) - segment
    assert dens["annulus_area"][0] == pytest.approx(expected, rel=0.02)
    err = np.sqrt(0.2 * expected) / expected
    assert abs(dens["density"][0] - 0.2) < 4 * err
