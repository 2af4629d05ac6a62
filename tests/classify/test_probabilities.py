"""Association probabilities: hand-computed cases and a calibration simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xrbid.classify.probabilities import (
    R68_PER_SIGMA,
    association_probabilities,
    estimate_magnitude_weight,
)
from xrbid.errors import ColumnError, InputError

ARCSEC = np.pi / 180 / 3600


def two_candidates(sep1, sep2, sigma=1.0):
    return pd.DataFrame(
        {"source_id": ["X", "X"], "separation": [sep1, sep2], "pu_1sigma": sigma * R68_PER_SIGMA}
    )


def test_r68_conversion():
    # 68 % of a circular Gaussian lies inside 1.5096 sigma: 1 - exp(-k^2/2) = 0.68
    assert 1 - np.exp(-(R68_PER_SIGMA**2) / 2) == pytest.approx(0.68)


def test_two_candidates_by_hand():
    """sigma = 1", rho = 0.1 arcsec^-2, c = 0.5, candidates at 0" and 1", no radius limit.

    LR1 = 1 / (2 pi 0.1) = 1.59155, LR2 = LR1 exp(-1/2) = 0.96532;
    denominator 1 - c + c (LR1 + LR2) = 0.5 + 1.27843 = 1.77843;
    p1 = 0.79577 / 1.77843 = 0.44746, p2 = 0.48266 / 1.77843 = 0.27140, p_any = 0.71886.
    """
    cands, srcs = association_probabilities(
        two_candidates(0.0, 1.0), density=0.1, completeness=0.5, search_radius_column=None
    )
    assert cands["p_i"].tolist() == pytest.approx([0.44746, 0.27140], abs=2e-5)
    assert srcs["p_any"][0] == pytest.approx(0.71886, abs=2e-5)
    assert cands["best"].tolist() == [True, False]
    assert srcs["best_candidate"][0] == 0
    assert srcs["n_candidates"][0] == 2


def test_two_candidates_budavari_szalay_in_radians():
    """The same posterior from the B&S Bayes factor in radians and a density per steradian."""
    sigma, rho, c = 0.8, 0.05, 0.7
    seps = np.array([0.3, 1.4])
    s2 = (sigma * ARCSEC) ** 2
    bayes = 2 / s2 * np.exp(-((seps * ARCSEC) ** 2) / (2 * s2))  # B&S 2008, two catalogues
    rho_sr = rho / ARCSEC**2
    weights = c * bayes / (4 * np.pi * rho_sr)
    expected = weights / (1 - c + weights.sum())
    cands, srcs = association_probabilities(
        two_candidates(*seps, sigma=sigma), density=rho, completeness=c, search_radius_column=None
    )
    assert cands["p_i"].to_numpy() == pytest.approx(expected, rel=1e-9)
    assert srcs["p_any"][0] == pytest.approx(expected.sum(), rel=1e-9)


def test_search_radius_and_optical_error():
    """A 2" search radius with sigma = 1" leaves out exp(-2) of the counterparts; an optical
    error of 0.75" widens sigma to 1.25"."""
    c = two_candidates(0.5, 1.5)
    c["pu_2sigma"] = 2.0
    c["pos_err"] = 0.75
    cands, _ = association_probabilities(c, density=0.2, completeness=0.4, optical_sigma="pos_err")
    s2 = 1.0 + 0.75**2
    lr = np.exp(-np.array([0.25, 2.25]) / (2 * s2)) / (2 * np.pi * s2 * 0.2)
    f = 1 - np.exp(-4.0 / (2 * s2))
    assert cands["p_i"].to_numpy() == pytest.approx(0.4 * lr / (1 - 0.4 * f + 0.4 * lr.sum()))


def test_magnitude_weight():
    c = two_candidates(0.5, 0.5)
    c["f555w_mag"] = [22.0, 26.0]
    cands, _ = association_probabilities(
        c,
        density=0.1,
        search_radius_column=None,
        magnitude_weight=lambda m: np.where(m < 24, 3.0, 0.5),
        mag_column="f555w_mag",
    )
    assert cands["p_i"][0] / cands["p_i"][1] == pytest.approx(6.0)
    assert cands["best"].tolist() == [True, False]


def simulate(n_src=6000, c=0.6, sigma=0.5, rho=0.15, seed=7):
    """Per source: a counterpart (probability c) with a Gaussian offset, Poisson field sources
    uniform in the 95 % circle; the candidates are everything inside that circle."""
    rng = np.random.default_rng(seed)
    radius = sigma * np.sqrt(-2 * np.log(0.05))
    n_field = rng.poisson(rho * np.pi * radius**2, n_src)
    field_src = np.repeat(np.arange(n_src), n_field)
    field_r = radius * np.sqrt(rng.uniform(0, 1, field_src.size))
    has = rng.uniform(size=n_src) < c
    true_r = np.hypot(*rng.normal(0, sigma, (2, n_src)))
    keep = has & (true_r <= radius)
    src = np.r_[field_src, np.flatnonzero(keep)]
    sep = np.r_[field_r, true_r[keep]]
    truth = np.r_[np.zeros(field_src.size, bool), np.ones(int(keep.sum()), bool)]
    # magnitudes: field sources uniform in 20-28, counterparts around 22
    mag = np.r_[rng.uniform(20, 28, field_src.size), rng.normal(22.0, 0.7, int(keep.sum()))]
    return pd.DataFrame(
        {
            "source_id": src,
            "separation": sep,
            "pu_1sigma": sigma * R68_PER_SIGMA,
            "pu_2sigma": radius,
            "true": truth,
            "mag": mag,
            "local_density": rho,
        }
    )


@pytest.mark.parametrize("lo, hi", [(0.7, 0.9), (0.3, 0.5)])
def test_calibration_on_simulated_fields(lo, hi):
    cands = simulate()
    out, srcs = association_probabilities(cands, density=0.15, completeness=0.6)
    sel = out[(out["p_i"] >= lo) & (out["p_i"] < hi)]
    assert len(sel) > 300
    frac, mean_p = sel["true"].mean(), sel["p_i"].mean()
    err = np.sqrt(mean_p * (1 - mean_p) / len(sel))
    assert abs(frac - mean_p) < 3 * err
    # p_any: the fraction of sources (with candidates) whose counterpart is among them
    with_cands = srcs["source_id"].to_numpy().astype(int)
    found = out.groupby("source_id")["true"].any().reindex(with_cands).to_numpy()
    assert abs(found.mean() - srcs["p_any"].mean()) < 3 * np.sqrt(
        srcs["p_any"].mean() * (1 - srcs["p_any"].mean()) / len(srcs)
    )


def test_missing_density_gives_unknown_probabilities():
    c = pd.concat([two_candidates(0.0, 1.0), two_candidates(0.2, 0.4).assign(source_id="Y")])
    c["rho"] = [0.1, 0.1, np.nan, np.nan]
    cands, srcs = association_probabilities(
        c.reset_index(drop=True), density="rho", search_radius_column=None
    )
    assert cands["p_i"][:2].tolist() == pytest.approx([0.44746, 0.27140], abs=2e-5)
    assert np.isnan(cands["p_i"][2:]).all() and not cands["best"][2:].any()
    y = srcs.set_index("source_id").loc["Y"]
    assert np.isnan(y["p_any"]) and y["best_candidate"] is None


def test_errors():
    with pytest.raises(InputError, match="0 or negative"):
        association_probabilities(two_candidates(0, 1), density=0.0)
    with pytest.raises(InputError, match="completeness"):
        association_probabilities(two_candidates(0, 1), density=0.1, completeness=1.0)
    with pytest.raises(ColumnError, match="separation"):
        association_probabilities(pd.DataFrame({"source_id": ["X"]}), density=0.1)
    with pytest.raises(ColumnError, match="density"):
        association_probabilities(two_candidates(0, 1), search_radius_column=None)


def test_magnitude_weight_estimated_from_the_data():
    n_src, rho = 6000, 0.3
    cands = simulate(n_src=n_src, rho=rho)
    field = np.random.default_rng(1).uniform(20, 28, 200_000)
    radius = cands["pu_2sigma"].iloc[0]
    w = estimate_magnitude_weight(cands["mag"], field, n_src * np.pi * radius**2 * rho)
    # counterparts (N(22, 0.7)) over a flat field: w = q/n, n = 1/8 per mag
    assert w(np.array([22.0]))[0] > 3
    assert w(np.array([27.0]))[0] < 0.5
    assert w(np.array([35.0]))[0] == 1.0  # outside the bins
    plain, _ = association_probabilities(cands, density="local_density", completeness=0.6)
    weighted, _ = association_probabilities(
        cands, density="local_density", completeness=0.6, magnitude_weight=w, mag_column="mag"
    )
    has_true = plain.groupby("source_id")["true"].transform("any")
    right_plain = plain[plain["best"] & has_true]["true"].mean()
    right_weighted = weighted[weighted["best"] & has_true]["true"].mean()
    assert right_weighted > right_plain + 0.05
    sel = weighted[(weighted["p_i"] >= 0.7) & (weighted["p_i"] < 0.9)]
    mean_p = sel["p_i"].mean()
    assert abs(sel["true"].mean() - mean_p) < 3 * np.sqrt(mean_p * (1 - mean_p) / len(sel))
