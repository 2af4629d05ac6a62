"""Model-file readers on a real MIST isochrone and hand-built PARSEC and MIST-EEP files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from xrbid.classify.models import read_models
from xrbid.errors import InputError

DATA = Path(__file__).resolve().parents[2] / "testdata"
MIST_ISO = DATA / "mist-isochrone-panstarrs" / "MIST_iso_5fd2532653c27.iso.cmd"
PARSEC = DATA / "parsec-cmd-handmade" / "parsec_cmd37_acswfc_handmade.dat"
MIST_EEP = DATA / "mist-eep-handmade" / "01000M.track.eep.cmd"


def test_mist_isochrone():
    m = read_models(MIST_ISO)
    assert m.kind == "MIST isochrones"
    assert m.system == "PanSTARRS (AB)"
    assert m.bands == ["PS_g", "PS_r", "PS_i", "PS_z", "PS_y", "PS_w", "PS_open"]
    assert len(m.table) == 1460  # "number of EEPs, cols = 1460 17"
    assert m.ages.tolist() == pytest.approx([np.log10(1.2e10)], abs=1e-4)
    assert m.metallicities.tolist() == [-1.35]
    first = m.table.iloc[0]
    # the first data row of the file, read by eye
    assert first["initial_mass"] == pytest.approx(1.0584283340559270e-01)
    assert first["PS_g"] == pytest.approx(13.834270)
    assert first["phase"] == 0
    assert m.band("g") == "PS_g" and m.band("ps_z") == "PS_z"
    assert m.header["Zinit"] == pytest.approx(6.64289e-04)
    info = m.info()
    assert info["n_points"] == 1460 and info["initial_mass_range"][0] == pytest.approx(0.10584283)


def test_parsec_cmd_table():
    m = read_models(PARSEC)
    assert m.kind == "PARSEC isochrones"
    assert m.bands == ["F555W", "F814W"]
    assert m.ages.tolist() == [7.0, 8.0]
    assert m.metallicities.tolist() == [0.0]
    assert m.table["model"].nunique() == 2
    assert m.table["initial_mass"].max() == 15.0
    assert m.system.startswith("HST/ACS WFC")
    young = m.select(log_age=7.2)
    assert young.ages.tolist() == [7.0] and len(young.table) == 6


def test_mist_eep_track_mass_from_header():
    m = read_models(MIST_EEP)
    assert m.kind == "MIST EEP track"
    assert np.all(m.table["initial_mass"] == 10.0)
    assert m.bands == ["ACS_WFC_F555W", "ACS_WFC_F814W"]
    assert m.table["log_age"].iloc[2] == pytest.approx(7.0)
    assert m.band("F814W") == "ACS_WFC_F814W"


def test_several_files_stack_and_bad_band(tmp_path):
    both = read_models([PARSEC, PARSEC])
    assert both.table["model"].nunique() == 4
    with pytest.raises(InputError, match="different bands"):
        read_models([PARSEC, MIST_EEP])
    with pytest.raises(InputError, match="no F336W band"):
        read_models(PARSEC).band("F336W")


def test_not_a_model_file(tmp_path):
    p = tmp_path / "x.txt"
    p.write_text("a b c\n1 2 3\n")
    with pytest.raises(InputError, match="neither a MIST"):
        read_models(p)
    with pytest.raises(InputError, match="cannot read"):
        read_models(tmp_path / "missing.iso.cmd")


def test_cmd_curves_for_plots():
    m = read_models(PARSEC)
    curves = m.cmd_curves(("F555W", "F814W"), "F555W", distance_modulus=29.0, reddening=(0.1, 0.3))
    assert [label for label, _, _ in curves] == [
        "log t = 7.00, [Fe/H] = +0.00",
        "log t = 8.00, [Fe/H] = +0.00",
    ]
    _, c, mag = curves[0]
    # the first row of the file: F555W 4.800, F814W 4.100
    assert (c[0], mag[0]) == pytest.approx((4.8 - 4.1 + 0.1, 4.8 + 29.0 + 0.3))
    track = read_models(MIST_EEP).cmd_curves(("F555W", "F814W"), "F814W")
    assert track[0][0] == "10 Msun" and len(track[0][1]) == 6


def test_a_short_row_next_to_a_long_one_is_refused(tmp_path):
    # one value moved from the first data row to the second: the total count still divides
    # by the number of columns, but every value after the move would land in a wrong column
    lines = PARSEC.read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if line and not line.startswith("#"))
    moved = lines[first].split()[-1]
    lines[first] = " ".join(lines[first].split()[:-1])
    lines[first + 1] += f" {moved}"
    shifted = tmp_path / "shifted.dat"
    shifted.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="rows do not have the 13 columns"):
        read_models(shifted)


def test_select_refuses_an_age_that_is_not_a_number():
    with pytest.raises(InputError, match="log_age"):
        read_models(PARSEC).select(log_age=float("nan"))
