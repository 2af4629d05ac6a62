"""``xrbid classify`` and ``xrbid models info`` on a simulated field with known donors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from tests.photometry.test_extinction import ccm89_a_over_av
from xrbid.cli.main import cli
from xrbid.selection import find_counterparts
from xrbid.sky import from_tangent_plane
from xrbid.tables import read_table, write_table

DATA = Path(__file__).resolve().parents[2] / "testdata"
PARSEC = DATA / "parsec-cmd-handmade" / "parsec_cmd37_acswfc_handmade.dat"
MU = 5 * np.log10(6.4e6 / 10)
EBV = 0.1


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def field(tmp_path):
    """Four X-ray sources; each has one candidate at its centre placed on a logAge 7 PARSEC
    point (15, 8, 3, 1 Msun), seen at 6.4 Mpc through E(B-V) = 0.1 (CCM89); a uniform field."""
    rng = np.random.default_rng(3)
    xs = np.array([-60.0, -20.0, 20.0, 60.0])
    ra, dec = from_tangent_plane(xs, np.zeros(4), 210.8, 54.35)
    xray = pd.DataFrame(
        {
            "source_id": ["S15", "S8", "S3", "S1"],
            "ra": ra,
            "dec": dec,
            "pu_1sigma": 0.5,
            "pu_2sigma": 1.0,
        }
    )
    n = 3000
    fx, fy = rng.uniform(-150, 150, (2, n))
    keep = np.min(np.hypot(fx[:, None] - xs[None, :], fy[:, None]), axis=1) > 1.5
    fx, fy = fx[keep], fy[keep]
    iso = pd.read_csv(PARSEC, comment="#", sep=r"\s+", header=None).iloc[:6]
    v, i = iso[11].to_numpy()[[5, 3, 1, 0]], iso[12].to_numpy()[[5, 3, 1, 0]]
    a5 = 3.1 * EBV * ccm89_a_over_av(5359.6, 3.1)
    a8 = 3.1 * EBV * ccm89_a_over_av(8059.8, 3.1)
    ora, odec = from_tangent_plane(np.r_[fx, xs], np.r_[fy, np.zeros(4)], 210.8, 54.35)
    opt = pd.DataFrame(
        {
            "ra": ora,
            "dec": odec,
            "f555w_mag": np.r_[rng.uniform(22, 28, fx.size), v + MU + a5],
            "f814w_mag": np.r_[rng.uniform(22, 28, fx.size), i + MU + a8],
        }
    )
    opt["f555w_mag_err"] = 0.0
    opt["f814w_mag_err"] = 0.0
    cands = find_counterparts(xray, opt)
    cands["f555w_f814w"] = cands["f555w_mag"] - cands["f814w_mag"]
    paths = {k: tmp_path / f"{k}.ecsv" for k in ("xray", "optical", "cands")}
    write_table(xray, paths["xray"])
    write_table(opt, paths["optical"])
    write_table(cands, paths["cands"])
    return paths


def test_classify_end_to_end(field, tmp_path):
    out = tmp_path / "classified.ecsv"
    res = run(
        "classify",
        field["cands"],
        "--optical",
        field["optical"],
        "--xray",
        field["xray"],
        "--models",
        PARSEC,
        "--log-age",
        "7",
        "--distance",
        "6.4Mpc",
        "--ebv",
        EBV,
        "--law",
        "CCM89",
        "--shifts",
        "20",
        "--mag-prior",
        "-o",
        out,
        "--json",
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["steps"] == [
        "extinction",
        "chance",
        "probabilities",
        "donor masses",
        "false-match rate",
    ]
    cands = read_table(out)
    sources = read_table(tmp_path / "classified_sources.ecsv").set_index("source_id")
    centre = cands[cands["separation"] < 1e-6].set_index("source_id")
    assert centre.loc[["S15", "S8", "S3", "S1"], "mass"].tolist() == pytest.approx(
        [15.0, 8.0, 3.0, 1.0], rel=1e-6
    )
    assert centre.loc[["S15", "S8", "S3", "S1"], "mass_class"].tolist() == [
        "high",
        "high",
        "intermediate",
        "low",
    ]
    # a field source may share a circle: the centre candidate is still the most probable
    assert centre["best"].all()
    for col in ("a_f555w", "f555w_mag_dered", "n_chance", "p_chance", "p_i"):
        assert col in cands.columns
    assert np.all((cands["p_i"] > 0) & (cands["p_i"] < 1))
    # per source: S15 and S8 HMXB, S3 IMXB unless a low-mass field star shares its circle
    assert sources.loc["S15", "xrb_class"] == "HMXB"
    assert sources.loc["S8", "xrb_class"] == "HMXB"
    assert sources.loc["S1", "xrb_class"] == "LMXB"
    assert 0 < sources.loc["S1", "p_any"] < 1
    assert summary["false_match"]["n_shifts"] == 20
    assert summary["magnitude_prior"] == "f555w_mag"


def test_classify_reads_the_optical_sources_from_a_region_file(field, tmp_path):
    # as `xrbid counterparts` does: the same fk5 circles give the same densities
    opt = read_table(field["optical"])
    reg = tmp_path / "optical.reg"
    lines = ["# Region file format: DS9 version 4.1", "fk5"]
    lines += [f'circle({r:.9f},{d:.9f},0.5")' for r, d in zip(opt["ra"], opt["dec"])]
    reg.write_text("\n".join(lines) + "\n")
    args = ["classify", field["cands"], "--xray", field["xray"], "--json"]
    res_reg = run(*args, "--optical", reg, "-o", tmp_path / "a.ecsv")
    res_tab = run(*args, "--optical", field["optical"], "-o", tmp_path / "b.ecsv")
    assert res_reg.exit_code == 0 and res_tab.exit_code == 0, res_reg.output + res_tab.output
    a, b = read_table(tmp_path / "a.ecsv"), read_table(tmp_path / "b.ecsv")
    np.testing.assert_allclose(a["local_density"], b["local_density"], rtol=1e-9)


def test_classify_flags_and_errors(field, tmp_path):
    flags = tmp_path / "flags.csv"
    pd.DataFrame({"source_id": ["S15"], "rank": [1], "object_type": ["cluster"]}).to_csv(
        flags, index=False
    )
    out = tmp_path / "c.ecsv"
    res = run(
        "classify",
        field["cands"],
        "--models",
        PARSEC,
        "--log-age",
        "7",
        "--distance-modulus",
        MU,
        "--ebv",
        EBV,
        "--law",
        "CCM89",
        "--flags",
        flags,
        "-o",
        out,
    )
    assert res.exit_code == 0, res.output
    src = read_table(tmp_path / "c_sources.ecsv").set_index("source_id")
    cands = read_table(out)
    if (cands["source_id"] == "S15").sum() == 1:
        assert src.loc["S15", "xrb_class"] == "unclassified"
    # existing output, a distance without unit, a bad colour
    res = run("classify", field["cands"], "-o", out)
    assert res.exit_code == 1 and "exists" in res.output
    # an output that is also an input, and the per-source table over an input
    res = run("classify", field["cands"], "-o", field["cands"], "--overwrite")
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert read_table(field["cands"]).columns.tolist()[-1] != "mass_class"
    xray_copy = tmp_path / "k_sources.ecsv"
    xray_copy.write_bytes(field["xray"].read_bytes())
    res = run("classify", field["cands"], "--xray", xray_copy, "-o", tmp_path / "k.ecsv")
    assert res.exit_code == 1 and "also an input" in res.output
    res = run(
        "classify",
        field["cands"],
        "--models",
        PARSEC,
        "--distance",
        "6.4",
        "-o",
        tmp_path / "d.ecsv",
    )
    assert res.exit_code == 1 and "no unit" in res.output and "Traceback" not in res.output
    res = run(
        "classify",
        field["cands"],
        "--models",
        PARSEC,
        "--distance",
        "6.4Mpc",
        "--colour",
        "F555W",
        "-o",
        tmp_path / "e.ecsv",
    )
    assert res.exit_code == 1 and "BLUE-RED" in res.output


def test_models_info():
    res = run("models", "info", PARSEC)
    assert res.exit_code == 0, res.output
    assert "log10(age/yr): 7, 8" in res.stdout
    assert "bands: F555W, F814W" in res.stdout
    res = run("models", "info", PARSEC, "--json")
    assert json.loads(res.stdout)["initial_mass_range"] == [1.0, 15.0]
