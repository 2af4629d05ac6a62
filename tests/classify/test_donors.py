"""Donor masses from model tracks, and every branch of the XRB rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xrbid.classify.donors import (
    classify_sources,
    distance_modulus,
    donor_masses,
    mass_class,
    model_mass,
)
from xrbid.classify.models import read_models
from xrbid.errors import ColumnError, InputError

DATA = Path(__file__).resolve().parents[2] / "testdata"
MIST_ISO = DATA / "mist-isochrone-panstarrs" / "MIST_iso_5fd2532653c27.iso.cmd"
PARSEC = DATA / "parsec-cmd-handmade" / "parsec_cmd37_acswfc_handmade.dat"
MIST_EEP = DATA / "mist-eep-handmade" / "01000M.track.eep.cmd"


def test_distance_modulus():
    assert distance_modulus(10.0) == 0.0
    assert distance_modulus(6.4e6) == pytest.approx(5 * np.log10(6.4e5))


def test_points_on_parsec_isochrone_return_their_mass():
    m = read_models(PARSEC).select(log_age=7.0)
    t = m.table
    colour = (t["F555W"] - t["F814W"]).to_numpy()
    mass, dist = model_mass(
        m, colour, t["F555W"].to_numpy(), colour_bands=("F555W", "F814W"), mag_band="F555W"
    )
    assert mass == pytest.approx(t["initial_mass"].to_numpy())
    assert dist == pytest.approx(0.0, abs=1e-12)
    # half-way between the 3 and 5 Msun points: 4 Msun on the straight segment
    mid_c = 0.5 * (colour[1] + colour[2])
    mid_m = 0.5 * (t["F555W"][1] + t["F555W"][2])
    mid, _ = model_mass(m, [mid_c], [mid_m], colour_bands=("F555W", "F814W"), mag_band="F555W")
    assert mid[0] == pytest.approx(4.0)


def test_points_on_a_track_return_the_track_mass():
    m = read_models(MIST_EEP)
    t = m.table
    c = (t["ACS_WFC_F555W"] - t["ACS_WFC_F814W"]).to_numpy()
    mag = t["ACS_WFC_F555W"].to_numpy()
    # vertices and points a third of the way along each segment
    cs = np.r_[c, c[:-1] + (c[1:] - c[:-1]) / 3]
    ms = np.r_[mag, mag[:-1] + (mag[1:] - mag[:-1]) / 3]
    mass, dist = model_mass(m, cs, ms, colour_bands=("F555W", "F814W"), mag_band="F555W")
    assert np.all(mass == 10.0)
    assert dist == pytest.approx(0.0, abs=1e-9)


def test_points_on_the_real_mist_isochrone():
    m = read_models(MIST_ISO)
    ms = m.table[m.table["phase"] == 0]  # main sequence: a single-valued curve
    c = (ms["PS_g"] - ms["PS_i"]).to_numpy()
    mass, dist = model_mass(m, c, ms["PS_g"].to_numpy(), colour_bands=("g", "i"), mag_band="g")
    assert mass == pytest.approx(ms["initial_mass"].to_numpy(), rel=1e-9)
    assert np.max(dist) < 1e-9


def test_donor_masses_with_distance_and_errors():
    m = read_models(PARSEC).select(log_age=7.0)
    mu = 29.0
    t = m.table
    cands = pd.DataFrame(
        {
            "source_id": ["A", "B", "C"],
            "f555w_mag_dered": t["F555W"].to_numpy()[[0, 3, 5]] + mu,
            "f814w_mag_dered": t["F814W"].to_numpy()[[0, 3, 5]] + mu,
            "f555w_mag_err": [0.0, 0.05, 0.0],
            "f814w_mag_err": [0.0, 0.05, 0.0],
        }
    )
    out = donor_masses(cands, m, colour=("F555W", "F814W"), mag="F555W", distance_modulus=mu)
    assert out["mass"].tolist() == pytest.approx([1.0, 8.0, 15.0])
    assert out["mass_class"].tolist() == ["low", "high", "high"]
    # errors widen the mass range around 8 Msun, and not for error-free points
    assert out["mass_min"][1] < 8.0 < out["mass_max"][1]
    assert [out["mass_min"][0], out["mass_max"][0]] == pytest.approx([1.0, 1.0])
    # far from every model: no mass
    far = cands.iloc[[0]].assign(f555w_mag_dered=10.0)
    assert np.isnan(
        donor_masses(far, m, colour=("F555W", "F814W"), mag="F555W", distance_modulus=mu)["mass"][0]
    )
    with pytest.raises(ColumnError, match="deredden first"):
        donor_masses(
            cands.drop(columns="f814w_mag_dered"),
            m,
            colour=("F555W", "F814W"),
            mag="F555W",
            distance_modulus=mu,
        )


def test_mass_class_limits():
    assert mass_class(np.array([2.0, 2.5]), limits=(2.5, 5.0)).tolist() == ["low", "intermediate"]
    with pytest.raises(InputError, match="mass limits"):
        mass_class(np.array([1.0]), limits=(8.0, 3.0))


def test_every_branch_of_the_xrb_rule():
    c = pd.DataFrame(
        {
            "source_id": ["H", "H", "I", "I", "L", "M", "M", "N", "E", "E"],
            "mass_class": [
                "high",
                "low",  # any high -> HMXB
                "intermediate",
                "intermediate",  # only intermediate -> IMXB
                "low",  # only low -> LMXB
                "low",
                "intermediate",  # mixed low + intermediate -> LMXB
                "",  # no mass -> unclassified
                "high",
                "low",  # high one is a cluster -> LMXB
            ],
            "object_type": ["", "", "star", "", "", "", "", "", "cluster", ""],
        }
    )
    out = classify_sources(c, sources=["H", "I", "L", "M", "N", "E", "Z"]).set_index("source_id")
    assert out["xrb_class"].to_dict() == {
        "H": "HMXB",
        "I": "IMXB",
        "L": "LMXB",
        "M": "LMXB",
        "N": "unclassified",
        "E": "LMXB",
        "Z": "unclassified",  # no candidate at all
    }
    assert out.loc["E", "n_excluded"] == 1
    # all candidates foreground/background: unclassified
    fg = pd.DataFrame(
        {
            "source_id": ["F", "F"],
            "mass_class": ["high", "low"],
            "object_type": ["Foreground", "background"],
        }
    )
    assert classify_sources(fg)["xrb_class"].tolist() == ["unclassified"]


def test_donor_masses_refuse_bad_distance_modulus_and_cmd_distance():
    m = read_models(PARSEC).select(log_age=7.0)
    cands = pd.DataFrame({"source_id": ["A"], "f555w_mag": [25.0], "f814w_mag": [24.5]})
    kw = {"colour": ("F555W", "F814W"), "mag": "F555W", "dered": False}
    with pytest.raises(InputError, match="distance modulus"):
        donor_masses(cands, m, distance_modulus=float("nan"), **kw)
    with pytest.raises(InputError, match="CMD distance"):
        donor_masses(cands, m, distance_modulus=25.0, max_distance=-1.0, **kw)


def test_candidate_without_a_magnitude_has_no_mass_and_no_warning():
    import warnings

    m = read_models(PARSEC).select(log_age=7.0)
    t = m.table
    cands = pd.DataFrame(
        {
            "source_id": ["A", "B"],
            "f555w_mag": [np.nan, t["F555W"].to_numpy()[5] + 25.0],
            "f814w_mag": [21.0, t["F814W"].to_numpy()[5] + 25.0],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = donor_masses(
            cands, m, colour=("F555W", "F814W"), mag="F555W", distance_modulus=25.0, dered=False
        )
    assert np.isnan(out["mass"][0]) and np.isnan(out["mass_min"][0])
    assert out["mass"][1] == pytest.approx(15.0)
