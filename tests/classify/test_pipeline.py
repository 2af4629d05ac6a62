"""classify_candidates: the parts run on what is given; flags; the per-source table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xrbid.classify import apply_flags, classify_candidates, xray_from_candidates
from xrbid.errors import ColumnError, InputError

PARSEC = (
    Path(__file__).resolve().parents[2]
    / "testdata/parsec-cmd-handmade/parsec_cmd37_acswfc_handmade.dat"
)


def candidates():
    """Two sources: A with candidates at 0" and 0.5", B with one at 0.2"."""
    return pd.DataFrame(
        {
            "source_id": ["A", "A", "B"],
            "xray_ra": [10.0, 10.0, 10.1],
            "xray_dec": [0.0, 0.0, 0.0],
            "pu_1sigma": [0.5, 0.5, 0.5],
            "pu_2sigma": [1.0, 1.0, 1.0],
            "optical_index": [7, 8, 9],
            "rank": [1, 2, 1],
            "separation": [0.0, 0.5, 0.2],
            # logAge 7 PARSEC points (15 and 3 Msun) and a 1 Msun point, at mu = 25, no dust
            "f555w_mag": [-4.8 + 25, 0.2 + 25, 4.8 + 25],
            "f814w_mag": [-4.53 + 25, 0.2 + 25, 4.1 + 25],
        }
    )


def test_fixed_density_probabilities_and_masses():
    res = classify_candidates(
        candidates(), models=PARSEC, log_age=7.0, dist_mod=25.0, density=0.2, completeness=0.5
    )
    c, s = res.candidates, res.sources.set_index("source_id")
    # N_chance = pi r^2 rho with r = 1", rho = 0.2
    assert c["n_chance"].to_numpy() == pytest.approx(np.pi * 0.2)
    # p_i by hand for B: sigma = 0.5/1.5096, LR = exp(-r^2/2s^2)/(2 pi s^2 rho)
    s2 = (0.5 / 1.509596) ** 2
    lr = np.exp(-0.04 / (2 * s2)) / (2 * np.pi * s2 * 0.2)
    f = 1 - np.exp(-1.0 / (2 * s2))
    assert c["p_i"][2] == pytest.approx(0.5 * lr / (1 - 0.5 * f + 0.5 * lr), rel=1e-4)
    assert c["mass"].tolist() == pytest.approx([15.0, 3.0, 1.0], rel=1e-6)
    assert s.loc["A", "xrb_class"] == "HMXB" and s.loc["B", "xrb_class"] == "LMXB"
    assert s.loc["A", "best_optical_index"] == 7
    assert s.loc["B", "p_any"] == pytest.approx(c["p_i"][2])
    assert res.to_dict()["xrb_classes"] == {"HMXB": 1, "LMXB": 1}
    assert res.info["cmd"] == {"colour": ["f555w", "f814w"], "mag": "f555w"}
    # classifying the classified table again gives the same masses (abs_mag is no filter)
    again = classify_candidates(
        res.candidates, models=PARSEC, log_age=7.0, dist_mod=25.0, density=0.2
    )
    assert again.candidates["mass"].tolist() == pytest.approx([15.0, 3.0, 1.0], rel=1e-6)


def test_sources_without_candidates_are_unclassified():
    xray = pd.DataFrame(
        {
            "source_id": ["A", "B", "C"],
            "ra": [10.0, 10.1, 10.2],
            "dec": [0.0, 0.0, 0.0],
            "pu_1sigma": 0.5,
            "pu_2sigma": 1.0,
        }
    )
    res = classify_candidates(candidates(), xray=xray, density=0.2)
    s = res.sources.set_index("source_id")
    assert s.loc["C", "xrb_class"] == "unclassified"
    assert s.loc["C", "p_any"] == 0.0 and s.loc["C", "n_candidates"] == 0
    assert "donor masses" not in res.info["steps"]


def test_flags_by_each_key():
    c = candidates()
    by_rank = apply_flags(
        c, pd.DataFrame({"source_id": ["A"], "rank": [1], "object_type": ["cluster"]})
    )
    assert by_rank["object_type"].tolist() == ["cluster", "", ""]
    by_index = apply_flags(c, pd.DataFrame({"optical_index": [9], "object_type": ["foreground"]}))
    assert by_index["object_type"].tolist() == ["", "", "foreground"]
    # the cluster is left out: A keeps only its 3 Msun star -> IMXB
    res = classify_candidates(
        c,
        models=PARSEC,
        log_age=7.0,
        dist_mod=25.0,
        flags=pd.DataFrame({"source_id": ["A"], "rank": [1], "object_type": ["cluster"]}),
    )
    assert res.sources.set_index("source_id").loc["A", "xrb_class"] == "IMXB"
    with pytest.raises(ColumnError, match="object_type"):
        apply_flags(c, pd.DataFrame({"rank": [1]}))
    with pytest.raises(ColumnError, match="no key"):
        apply_flags(c, pd.DataFrame({"ra": [1.0], "object_type": ["cluster"]}))


def test_missing_inputs():
    with pytest.raises(InputError, match="distance"):
        classify_candidates(candidates(), models=PARSEC)
    with pytest.raises(ColumnError, match="--xray"):
        xray_from_candidates(candidates().drop(columns="xray_ra"))
    with pytest.raises(InputError, match="--optical"):
        classify_candidates(candidates(), density=0.1, magnitude_prior=True)
    with pytest.raises(InputError, match="two filters"):
        classify_candidates(candidates().drop(columns=["f814w_mag"]), models=PARSEC, dist_mod=25)


def test_empty_annulus_density_is_one_source():
    """Optical sources only at the candidates (none in the annulus): the density becomes one
    source per usable annulus area, not zero."""
    c = candidates()
    optical = pd.DataFrame(
        {"ra": [10.0, 10.0001, 10.1, 10.3, 10.2], "dec": [0.0, 0.0, 0.0, 0.1, -0.1]}
    )
    res = classify_candidates(c, optical=optical)
    dens = res.candidates["local_density"].to_numpy()
    assert np.all(dens > 0)
    assert res.info["empty_annuli"] == 2
    assert np.all(np.isfinite(res.candidates["p_i"]))


def test_pivots_from_the_photometry_attrs():
    """The images' PHOTPLAM, as photometer_counterparts records it, sets the pivots."""
    from tests.photometry.test_extinction import ccm89_a_over_av

    c = candidates()
    c.attrs["photometry"] = {
        "F555W": {"zeropoints": {"photplam": 5442.928}},
        "F814W": {"zeropoints": {"photplam": 7995.937}},
    }
    res = classify_candidates(c, ebv=0.1, law="CCM89")
    assert res.candidates["a_f555w"][0] == pytest.approx(0.31 * ccm89_a_over_av(5442.928, 3.1))
    assert res.info["extinction"]["pivot_wavelength_A"] == {"F555W": 5442.928, "F814W": 7995.937}
    # explicit pivots win
    res = classify_candidates(c, ebv=0.1, law="CCM89", pivots={"F555W": 5359.6})
    assert res.candidates["a_f555w"][0] == pytest.approx(0.31 * ccm89_a_over_av(5359.6, 3.1))


def test_source_whose_candidates_have_no_radius_keeps_nan_p_any():
    # A's radii are missing: its p_i cannot be computed, so its p_any is unknown (NaN), not 0
    # as for a source without candidates; B is unaffected.
    cands = candidates()
    cands.loc[cands["source_id"] == "A", ["pu_1sigma", "pu_2sigma"]] = np.nan
    res = classify_candidates(cands, density=0.2)
    s = res.sources.set_index("source_id")
    assert np.isnan(s.loc["A", "p_any"]) and s.loc["A", "n_candidates"] == 2
    s2 = (0.5 / 1.509596) ** 2
    lr = np.exp(-0.04 / (2 * s2)) / (2 * np.pi * s2 * 0.2)
    f = 1 - np.exp(-1.0 / (2 * s2))
    assert s.loc["B", "p_any"] == pytest.approx(0.5 * lr / (1 - 0.5 * f + 0.5 * lr), rel=1e-4)


@pytest.mark.parametrize("density", [np.nan, np.inf, 0.0, -1.0])
def test_fixed_density_that_is_not_a_positive_number_is_refused(density):
    with pytest.raises(InputError, match="density"):
        classify_candidates(candidates(), density=density)
