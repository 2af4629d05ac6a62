"""Paper tables through astropy's aastex, latex and mrt writers."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from astropy.table import Table

from tests.figures.conftest import candels_images_by_filter, candels_photometry
from xrbid import best_observations, positional_uncertainty, read_table
from xrbid.errors import ColumnError, InputError, OutputExistsError
from xrbid.paper_tables import paper_table, write_paper_table


@pytest.fixture(scope="module")
def m101_best(m101_vot) -> pd.DataFrame:
    pu = positional_uncertainty(read_table(m101_vot), sigma_astro=(0.2223, 0.3037))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return best_observations(pu)


@pytest.fixture(scope="module")
def candels_phot() -> pd.DataFrame:
    return candels_photometry(candels_images_by_filter())


def _hms(ra: float) -> tuple[int, int, float]:
    """By hand: degrees -> hours, minutes, seconds."""
    h = ra / 15.0
    m = (h - int(h)) * 60.0
    return int(h), int(m), (m - int(m)) * 60.0


def _dms(dec: float) -> tuple[int, int, float]:
    d = abs(dec)
    m = (d - int(d)) * 60.0
    return int(d), int(m), (m - int(m)) * 60.0


def test_aastex_of_the_m101_best_observations(tmp_path, m101_best):
    out = write_paper_table(m101_best.head(3), tmp_path / "t1.tex", caption="M101 sources")
    text = out.read_text()
    assert text.startswith("\\begin{deluxetable}")
    assert "\\tablecaption{M101 sources}" in text
    row = m101_best.iloc[0]
    h, m, s = _hms(row["ra"])
    d, dm, ds = _dms(row["dec"])
    ra_text = f"{h:02d}:{m:02d}:{s:05.2f}"  # 14:03:12.53
    dec_text = f"+{d:02d}:{dm:02d}:{ds:04.1f}"  # +54:20:56.2
    line = next(ln for ln in text.splitlines() if ln.startswith(row["source_id"]))
    cells = [c.strip() for c in line.rstrip("\\ ").split("&")]
    assert cells[1:3] == [ra_text, dec_text] == ["14:03:12.53", "+54:20:56.2"]
    assert cells[-2:] == [f"{row['pu_1sigma']:.2f}", f"{row['pu_2sigma']:.2f}"]
    assert cells[3] == f"{row['theta']:.2f}"
    assert "\\colhead{$r_{2\\sigma}$}" in text
    assert "\\colhead{$\\mathrm{{}^{\\prime\\prime}}$}" in text  # arcsec unit row


def test_latex_writer(tmp_path, m101_best):
    text = write_paper_table(m101_best.head(2), tmp_path / "t.tex", fmt="latex").read_text()
    assert "\\begin{tabular}" in text and "R.A. (J2000)" in text


def test_mrt_reads_back_with_astropy(tmp_path, m101_best):
    best = m101_best.head(20)
    out = write_paper_table(best, tmp_path / "t1.txt", fmt="mrt", caption="M101")
    back = Table.read(out, format="ascii.mrt")
    assert len(back) == 20
    assert list(back["Name"]) == list(best["source_id"])
    ra = 15.0 * (back["RAh"] + back["RAm"] / 60.0 + back["RAs"] / 3600.0)
    sign = np.where(back["DE-"] == "-", -1.0, 1.0)
    dec = sign * (back["DEd"] + back["DEm"] / 60.0 + back["DEs"] / 3600.0)
    cosd = np.cos(np.radians(best["dec"].to_numpy()))
    # 0.01 s of RA and 0.1" of Dec: rounding errors at most half of that
    assert np.all(np.abs(ra - best["ra"].to_numpy()) * 3600 * cosd <= 0.005 * 15 * cosd + 1e-9)
    assert np.all(np.abs(dec - best["dec"].to_numpy()) * 3600 <= 0.05 + 1e-9)
    np.testing.assert_allclose(back["r2sig"], best["pu_2sigma"], atol=0.005 + 1e-12)
    assert str(back["r2sig"].unit) == "arcsec"
    assert str(back["RAs"].unit) == "s"


def test_rounding_carries_and_small_negative_declinations(tmp_path):
    df = pd.DataFrame(
        {
            "source_id": ["A", "B"],
            "ra": [359.99999999, 15.0 * (1 + 59 / 60 + 59.996 / 3600)],
            "dec": [-0.5, -(10 + 59 / 60 + 59.97 / 3600)],
            "pu_1sigma": [0.5, 0.5],
            "pu_2sigma": [1.0, 1.0],
        }
    )
    t = paper_table(df, "aastex")
    assert list(t["R.A. (J2000)"]) == ["00:00:00.00", "02:00:00.00"]
    assert list(t["Decl. (J2000)"]) == ["-00:30:00.0", "-11:00:00.0"]
    out = write_paper_table(df, tmp_path / "t.txt", fmt="mrt")
    back = Table.read(out, format="ascii.mrt")
    assert list(back["DE-"]) == ["-", "-"] and list(back["DEd"]) == [0, 11]


def test_candidates_with_magnitudes(tmp_path, candels_phot):
    t = paper_table(candels_phot, "aastex")
    assert t.colnames[:4] == ["Source", "No.", "R.A. (J2000)", "Decl. (J2000)"]
    assert "F606W" in t.colnames and "$\\sigma_{F606W}$" in t.colnames
    assert t["F606W"].format == "%.2f" and str(t["F606W"].unit) == "mag"
    out = write_paper_table(candels_phot, tmp_path / "t2.txt", fmt="mrt")
    back = Table.read(out, format="ascii.mrt")
    np.testing.assert_allclose(back["F606W"], candels_phot["f606w_mag"], atol=0.005 + 1e-12)
    assert back["F850LP"].mask.sum() == candels_phot["f850lp_mag"].isna().sum() == 1


def test_errors(tmp_path, m101_best):
    with pytest.raises(ColumnError, match="pu_1sigma"):
        paper_table(m101_best.drop(columns="pu_1sigma"), kind="best")
    with pytest.raises(ColumnError, match="cannot tell"):
        paper_table(pd.DataFrame({"ra": [1.0]}))
    with pytest.raises(InputError, match="aastex, latex, mrt"):
        paper_table(m101_best, "html")
    (tmp_path / "t.tex").write_text("mine")
    with pytest.raises(OutputExistsError):
        write_paper_table(m101_best, tmp_path / "t.tex")
    assert (tmp_path / "t.tex").read_text() == "mine"
    assert math.isfinite(m101_best["pu_2sigma"].iloc[0])


def test_mrt_position_columns_by_hand():
    """The split RA/Dec columns of the MRT against values worked out by hand.

    210.80227 deg = 14.05348467 h = 14 h 3.208080 min = 14 h 3 min 12.5448 s -> 12.54 s;
    54.34875 deg = 54 deg 20.925' = 54 deg 20' 55.5"; 187.5 deg = 12.5 h = 12 h 30 min 0 s;
    -0.5 deg = -0 deg 30' 0" (the sign kept on the degrees).
    """
    df = pd.DataFrame(
        {
            "source_id": ["A", "B"],
            "ra": [210.80227, 187.5],
            "dec": [54.34875, -0.5],
            "pu_1sigma": [0.5, 0.5],
            "pu_2sigma": [1.0, 1.0],
        }
    )
    t = paper_table(df, "mrt")
    assert list(t["RAh"]) == [14, 12] and list(t["RAm"]) == [3, 30]
    np.testing.assert_allclose(t["RAs"], [12.54, 0.0], atol=1e-12)
    assert list(t["DEd"]) == ["+54", "-00"] and list(t["DEm"]) == [20, 30]
    np.testing.assert_allclose(t["DEs"], [55.5, 0.0], atol=1e-12)
    assert [t[c].format for c in ("RAh", "RAm", "RAs", "DEm", "DEs")] == [
        "%02d",
        "%02d",
        "%05.2f",
        "%02d",
        "%04.1f",
    ]
    assert [str(t[c].unit) for c in ("RAh", "RAm", "RAs", "DEd", "DEm", "DEs")] == [
        "h",
        "min",
        "s",
        "deg",
        "arcmin",
        "arcsec",
    ]
    assert t["RAh"].description == "Hour of right ascension (J2000)"
    assert t["DEs"].description == "Arcsecond of declination (J2000)"


def test_mrt_needs_one_finite_position():
    df = pd.DataFrame(
        {"source_id": ["A"], "ra": [np.nan], "dec": [1.0], "pu_1sigma": [0.5], "pu_2sigma": [1.0]}
    )
    with pytest.raises(InputError, match="no row has a finite position"):
        paper_table(df, "mrt")


def test_mrt_row_without_a_position_is_blank(tmp_path):
    df = pd.DataFrame(
        {
            "source_id": ["A", "B"],
            "ra": [187.5, np.nan],
            "dec": [-0.5, 1.0],
            "pu_1sigma": [0.5, 0.5],
            "pu_2sigma": [1.0, 1.0],
        }
    )
    out = write_paper_table(df, tmp_path / "t.txt", fmt="mrt")
    back = Table.read(out, format="ascii.mrt")
    assert (back["RAh"][0], back["RAm"][0], back["DE-"][0], back["DEm"][0]) == (12, 30, "-", 30)
    for name in ("RAh", "RAm", "RAs", "DEd", "DEm", "DEs"):
        assert back[name].mask[1], name
