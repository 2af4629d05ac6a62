"""One galaxy in one process: the real M101 chain, steps that remember, bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import xrbid
import xrbid.pipeline.state
from tests.conftest import TESTDATA
from xrbid.errors import ColumnError, InputError, OutputExistsError
from xrbid.pipeline import plan_galaxy, run_galaxy
from xrbid.pipeline.state import STATE_DIR

from .conftest import M101_CALIBRATORS, OPTICAL, m101_toml

M101_STEPS = ["xray", "calibrators", "optical", "align", "radii", "best", "counterparts", "report"]


def _reg_positions(path):
    """fk5 circle centres of a DS9 region file, read with plain text parsing."""
    out = []
    for line in path.read_text().splitlines():
        if line.startswith("circle("):
            ra, dec = line[7:].split(",")[:2]
            out.append((float(ra), float(dec)))
    return np.array(out)


@pytest.fixture(scope="module")
def m101_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("m101")
    config = folder / "m101.toml"
    config.write_text(m101_toml(), encoding="utf-8")
    result = run_galaxy(config)
    return config, folder / "out", result


def test_m101_runs_every_step_and_writes_the_outputs(m101_run):
    _, out, result = m101_run
    assert result.ok
    assert [s.step for s in result.steps] == M101_STEPS
    assert all(s.state == "ran" for s in result.steps)
    for name in [
        "xray_sources.reg", "calibrators.ecsv", "calibrators.reg", "alignment.json",
        "alignment.png", "alignment_matched.reg", "radii.ecsv", "best.ecsv", "best_2sig.reg",
        "best_1sig.reg", "candidates.ecsv", "candidates.reg", "report.html",
    ]:  # fmt: skip
        assert (out / name).stat().st_size > 0, name
    for step in M101_STEPS:
        manifest = json.loads((out / STATE_DIR / f"{step}.json").read_text())
        assert manifest["version"] == xrbid.__version__
        assert set(manifest["outputs"]) >= set()
    # nothing is left in the staging area
    assert not list((out / STATE_DIR).glob("staging-*"))


def test_m101_alignment_matches_a_hand_calculation(m101_run, m101_vot):
    """Median and population std of the calibrator offsets, computed here with numpy."""
    _, out, _ = m101_run
    sol = json.loads((out / "alignment.json").read_text())
    # the X-ray position of each calibrator: its first row in the CSC table (unique source)
    vot = xrbid.read_table(m101_vot)
    first = vot.drop_duplicates("source_id").set_index("source_id").loc[M101_CALIBRATORS]
    xr = first[["ra", "dec"]].to_numpy(float)
    opt = _reg_positions(OPTICAL / "M101_astrocorrect.reg")
    # offsets on the gnomonic tangent plane about the calibrators' centroid (Calabretta &
    # Greisen 2002, A&A 395, 1077, eqs. for TAN), to each calibrator's nearest optical source
    v = np.column_stack(
        [np.cos(np.radians(xr[:, 1])) * np.cos(np.radians(xr[:, 0])),
         np.cos(np.radians(xr[:, 1])) * np.sin(np.radians(xr[:, 0])),
         np.sin(np.radians(xr[:, 1]))]
    ).mean(axis=0)  # fmt: skip
    a0, d0 = np.arctan2(v[1], v[0]), np.arctan2(v[2], np.hypot(v[0], v[1]))

    def tan(pos):
        a, d = np.radians(pos[:, 0]), np.radians(pos[:, 1])
        cosc = np.sin(d0) * np.sin(d) + np.cos(d0) * np.cos(d) * np.cos(a - a0)
        xi = np.cos(d) * np.sin(a - a0) / cosc
        eta = (np.cos(d0) * np.sin(d) - np.sin(d0) * np.cos(d) * np.cos(a - a0)) / cosc
        return np.degrees(xi) * 3600, np.degrees(eta) * 3600

    (xx, xy), (px, py) = tan(xr), tan(opt)
    dx, dy = px[None, :] - xx[:, None], py[None, :] - xy[:, None]
    j = np.argmin(np.hypot(dx, dy), axis=1)
    ox, oy = dx[np.arange(9), j], dy[np.arange(9), j]
    assert sol["n_used"] == 9
    assert sol["shift_x"] == pytest.approx(np.median(ox), abs=1e-6)
    assert sol["shift_y"] == pytest.approx(np.median(oy), abs=1e-6)
    assert sol["std_x"] == pytest.approx(np.std(ox), abs=1e-6)
    assert sol["std_y"] == pytest.approx(np.std(oy), abs=1e-6)
    # the XRBID guide's scatter: 0.3813 (RA degrees x 3600, no cos dec) x cos(54.35) and 0.3037
    assert sol["std_x"] == pytest.approx(0.3813 * np.cos(np.radians(54.35)), abs=2e-3)
    assert sol["std_y"] == pytest.approx(0.3037, abs=2e-3)
    assert sol["significant"] is False  # |median| <= std on both axes


def test_m101_best_and_candidates_match_independent_counts(m101_run):
    _, out, result = m101_run
    best = xrbid.read_table(out / "best.ecsv")
    assert len(best) == 555 and best["source_id"].is_unique
    sigma = json.loads((out / "alignment.json").read_text())
    s = np.hypot(sigma["std_x"], sigma["std_y"])
    # every 2-sigma radius is at least twice the alignment scatter (quadrature sum)
    assert (best["pu_2sigma"].to_numpy(float) >= 2 * s - 1e-9).all()
    # candidates: optical sources within each best source's 2-sigma radius, counted by brute
    # force on the sphere (haversine) from the region file's positions
    opt = np.radians(_reg_positions(OPTICAL / "M101_daoclean_f555w_acs_fk5.reg"))
    ra, dec = np.radians(best["ra"].to_numpy(float)), np.radians(best["dec"].to_numpy(float))
    hav = (
        np.sin((opt[None, :, 1] - dec[:, None]) / 2) ** 2
        + np.cos(dec[:, None])
        * np.cos(opt[None, :, 1])
        * np.sin((opt[None, :, 0] - ra[:, None]) / 2) ** 2
    )
    sep = np.degrees(2 * np.arcsin(np.sqrt(hav))) * 3600
    inside = sep <= best["pu_2sigma"].to_numpy(float)[:, None]
    cands = xrbid.read_table(out / "candidates.ecsv")
    assert len(cands) == int(inside.sum())
    assert cands["source_id"].nunique() == int(inside.any(axis=1).sum())
    counts = result.counts()
    assert counts["sources"] == 555 and counts["candidates"] == len(cands)


def test_rerun_with_nothing_changed_computes_nothing(m101_run):
    config, out, _ = m101_run
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.is_file()}
    again = run_galaxy(config)
    assert [s.state for s in again.steps] == ["up to date"] * len(M101_STEPS)
    after = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.is_file()}
    assert after == before
    assert all(s.state == "up to date" for s in plan_galaxy(config))


def test_a_changed_parameter_reruns_that_step_and_what_follows(tmp_path, write_config):
    config = write_config(m101_toml())
    run_galaxy(config)
    # a different fallback changes the radii, so best, counterparts and report follow
    write_config(
        m101_toml(extra="").replace("[outputs]", '[radii]\nfallback = "zero"\n\n[outputs]')
    )
    plan = {s.step: s.state for s in plan_galaxy(config)}
    assert plan["align"] == "up to date" and plan["radii"] == "would run"
    res = run_galaxy(config)
    states = {s.step: s.state for s in res.steps}
    assert states["xray"] == states["align"] == "up to date"
    assert states["radii"] == states["best"] == states["counterparts"] == "ran"
    radii = xrbid.read_table(tmp_path / "out" / "radii.ecsv")
    assert set(radii["pu_method"]) >= {"zero"}


def test_force_until_and_dry_run(tmp_path, write_config):
    config = write_config(m101_toml())
    res = run_galaxy(config, until="align")
    assert [s.step for s in res.steps] == ["xray", "calibrators", "optical", "align"]
    assert not (tmp_path / "out" / "best.ecsv").exists()
    plan = plan_galaxy(config, force=["calibrators"])
    states = {s.step: (s.state, s.reason) for s in plan}
    assert states["xray"][0] == "up to date"
    assert states["calibrators"] == ("would run", "forced")
    assert states["align"] == ("would run", "after calibrators")
    assert states["radii"] == ("would run", "after align")
    res = run_galaxy(config, force=["calibrators"], until="align")
    states = {s.step: s.state for s in res.steps}
    # the forced step gives the same calibrators, so the alignment is still up to date
    assert states["calibrators"] == "ran" and states["align"] == "up to date"
    with pytest.raises(InputError, match="unknown step 'nope'"):
        run_galaxy(config, until="nope")
    with pytest.raises(InputError, match="does not run with this configuration"):
        run_galaxy(config, force=["photometry"])


def test_a_changed_input_file_reruns(tmp_path, write_config):
    ids = tmp_path / "cal.txt"
    ids.write_text("\n".join(M101_CALIBRATORS) + "\n")
    text = m101_toml().replace(
        "ids = [" + ", ".join(f'"{i}"' for i in M101_CALIBRATORS) + "]", f'file = "{ids}"'
    )
    config = write_config(text)
    run_galaxy(config, until="align")
    ids.write_text("\n".join(M101_CALIBRATORS[:5]) + "\n")
    res = run_galaxy(config, until="align")
    states = {s.step: s.state for s in res.steps}
    assert states["xray"] == "up to date" and states["calibrators"] == "ran"
    assert json.loads((tmp_path / "out" / "alignment.json").read_text())["n_used"] == 5


def test_dry_run_says_which_parameter_input_or_output_changed(tmp_path, write_config):
    config = write_config(m101_toml(alignment='max_sep = "2arcsec"'))
    run_galaxy(config)
    out = tmp_path / "out"

    def reasons():
        return {s.step: s.reason for s in plan_galaxy(config) if s.state == "would run"}

    (out / "candidates.reg").unlink()
    assert reasons() == {
        "counterparts": "output candidates.reg removed",
        "report": "after counterparts",
    }
    run_galaxy(config)
    with open(out / "best_2sig.reg", "a") as f:
        f.write("# a note\n")
    assert reasons()["best"] == "output best_2sig.reg edited"
    run_galaxy(config)
    write_config(m101_toml(alignment='max_sep = "1.9arcsec"'))
    got = reasons()
    assert got["align"] == "parameters changed: max_sep"
    # the report follows every step that would run, in the steps' order, on every call
    assert got["report"] == "after align, radii, best, counterparts"
    assert [reasons()["report"] for _ in range(3)] == [got["report"]] * 3
    # fewer pairs, a different scatter: new radii, which best has not seen yet
    write_config(m101_toml(alignment='max_sep = "1arcsec"'))
    run_galaxy(config, until="radii")
    assert reasons()["best"] == "inputs changed: radii/radii.ecsv"


def _snapshot(folder):
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_calibrator_not_in_table_one_line_earlier_outputs_kept(tmp_path, write_config):
    config = write_config(m101_toml())
    run_galaxy(config)
    before = _snapshot(tmp_path / "out")
    write_config(m101_toml(ids=[*M101_CALIBRATORS, "2CXO J000000.0+000000"]))
    with pytest.raises(InputError) as err:
        run_galaxy(config)
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith("M101: step calibrators: [calibrators].ids:")
    assert "2CXO J000000.0+000000" in text
    # the failing step wrote nothing; everything from the earlier run is as it was
    assert _snapshot(tmp_path / "out") == before


def test_table_without_needed_columns(tmp_path, write_config, m101_vot):
    table = xrbid.read_table(m101_vot).drop(columns=["theta"])
    path = tmp_path / "no_theta.csv"
    table.to_csv(path, index=False)
    config = write_config(m101_toml(table=path))
    with pytest.raises(ColumnError) as err:
        run_galaxy(config)
    assert str(err.value).startswith("M101: step xray: ")
    assert "theta" in str(err.value) and "\n" not in str(err.value)
    out = tmp_path / "out"
    assert [p.name for p in out.iterdir()] == [STATE_DIR]
    assert [p.name for p in (out / STATE_DIR).iterdir()] == ["lock"]  # no manifest, no staging


def test_failure_after_earlier_steps_keeps_their_new_outputs(tmp_path, write_config):
    # an optical list in a format that cannot be read: steps before it finish and stay
    bad = tmp_path / "optical.csv"
    bad.write_text("x,y\n1,2\n")
    config = write_config(
        m101_toml().replace(str(OPTICAL / "M101_daoclean_f555w_acs_fk5.reg"), str(bad))
    )
    with pytest.raises(ColumnError, match=r"M101: step optical: .*ra"):
        run_galaxy(config)
    out = tmp_path / "out"
    assert (out / "calibrators.ecsv").exists() and (out / STATE_DIR / "calibrators.json").exists()
    assert not (out / STATE_DIR / "optical.json").exists()
    assert not list((out / STATE_DIR).glob("staging-*"))


def test_foreign_files_in_the_output_folder_need_overwrite(tmp_path, write_config):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "best.ecsv").write_text("mine\n")
    config = write_config(m101_toml())
    with pytest.raises(
        OutputExistsError, match=r"best\.ecsv not written by xrbid run; use --overwrite"
    ):
        run_galaxy(config)
    assert (tmp_path / "out" / "best.ecsv").read_text() == "mine\n"
    res = run_galaxy(config, overwrite=True, until="best")
    assert res.ok and len(pd.read_csv(tmp_path / "out" / "best.ecsv", comment="#", sep=" ")) == 555


def test_a_foreign_file_beside_an_earlier_run_needs_overwrite(tmp_path, write_config):
    # the earlier run drew no figure; the user's own alignment.png is not one of its outputs
    config = write_config(m101_toml(extra="figures = []"))
    assert run_galaxy(config).ok
    plot = tmp_path / "out" / "alignment.png"
    plot.write_bytes(b"my own plot")
    config = write_config(m101_toml(extra='figures = ["alignment"]'))
    with pytest.raises(OutputExistsError, match=r"alignment\.png not written by xrbid run"):
        run_galaxy(config)
    assert plot.read_bytes() == b"my own plot"
    assert run_galaxy(config, overwrite=True).ok
    assert plot.read_bytes()[:4] == b"\x89PNG"
    # the run's own outputs are replaced without --overwrite when a step runs again
    config = write_config(m101_toml(extra='figures = ["alignment"]', alignment='max_sep = "1"'))
    res = run_galaxy(config)
    assert res.ok and {s.step: s.state for s in res.steps}["align"] == "ran"


def test_temporary_files_of_a_killed_run_are_removed(tmp_path, write_config):
    # a worker killed while it put xray_sources.reg and a manifest in place left their
    # temporary files (mkstemp's ".NAME.XXXXXXXX.tmp"); a user's files stay
    config = write_config(m101_toml())
    assert run_galaxy(config, until="xray").ok
    out = tmp_path / "out"
    left = [out / ".xray_sources.reg.2v14zuin.tmp", out / STATE_DIR / ".xray.json.k_3x9qaa.tmp"]
    mine = [out / ".notes.txt.abcdefgh.tmp", out / ".xray_sources.reg.mine.tmp", out / "a.tmp"]
    for path in left + mine:
        path.write_bytes(b"")
    assert run_galaxy(config, until="xray").ok
    assert [p for p in left if p.exists()] == []
    assert all(p.exists() for p in mine)


def test_inside_a_callers_output_transaction(tmp_path, write_config):
    from xrbid._io import output_transaction

    config = write_config(m101_toml())
    with output_transaction():
        res = run_galaxy(config, until="align")
        assert res.ok
        # the run's outputs join the caller's transaction: committed when it ends
        assert not (tmp_path / "out" / "alignment.json").exists()
    solution = json.loads((tmp_path / "out" / "alignment.json").read_text())
    assert solution["n_used"] == 9
    manifest = json.loads((tmp_path / "out" / STATE_DIR / "align.json").read_text())
    assert manifest["outputs"]["alignment.json"] == xrbid.pipeline.state.file_hash(
        tmp_path / "out" / "alignment.json"
    )


def test_staging_left_by_a_killed_run_is_removed(tmp_path, write_config):
    import subprocess
    import sys

    config = write_config(m101_toml())
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True
    )
    pid = int(dead.stdout)
    left = tmp_path / "out" / STATE_DIR / f"staging-{pid}-abc"
    left.mkdir(parents=True)
    (left / "best.ecsv").write_text("half\n")
    run_galaxy(config, until="xray")
    assert not left.exists()
    assert not (tmp_path / "out" / "best.ecsv").exists()


@pytest.mark.parametrize(
    "tamper",
    [
        lambda m: m["outputs"].update({"../precious.txt": "0" * 64}),
        lambda m: m["outputs"].update({str(m["_abs"]): "0" * 64}),
        lambda m: m["outputs"].update({".": "0" * 64}),
        lambda m: m.update(outputs=["xray_sources.reg"]),
        lambda m: m.update(outputs="xray_sources.reg"),
        lambda m: m["outputs"].update({"xray_sources.reg": 5}),
        lambda m: m.update(summary=[1]),
        lambda m: m.update(step="best"),
        lambda m: m.pop("key"),
    ],
    ids=["parent", "absolute", "dot", "list", "text", "digest", "summary", "step", "nokey"],
)
def test_a_tampered_manifest_reruns_the_step_and_touches_nothing_outside(
    tmp_path, write_config, tamper
):
    # a shared output folder whose .xrbid/ was edited: never a traceback, never a file
    # outside the folder removed (a run deletes the outputs an earlier run recorded)
    precious = tmp_path / "precious.txt"
    precious.write_text("keep\n")
    config = write_config(m101_toml())
    run_galaxy(config, until="xray")
    path = tmp_path / "out" / STATE_DIR / "xray.json"
    manifest = json.loads(path.read_text())
    manifest["_abs"] = precious
    tamper(manifest)
    manifest.pop("_abs")
    path.write_text(json.dumps(manifest))
    assert [s.state for s in plan_galaxy(config, until="xray")] == ["would run"]
    result = run_galaxy(config, until="xray")
    assert [s.state for s in result.steps] == ["ran"]
    assert precious.read_text() == "keep\n"
    assert (tmp_path / "out" / "xray_sources.reg").is_file()
    assert json.loads(path.read_text())["outputs"] == {"xray_sources.reg": _digest(tmp_path)}


def _digest(tmp_path):
    return xrbid.pipeline.state.file_hash(tmp_path / "out" / "xray_sources.reg")


def test_odd_leftovers_named_like_staging_are_removed_without_following_links(
    tmp_path, write_config
):
    import subprocess
    import sys

    config = write_config(m101_toml())
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True
    )
    pid = int(dead.stdout)
    state = tmp_path / "out" / STATE_DIR
    state.mkdir(parents=True)
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "f").write_text("keep\n")
    (state / f"staging-{pid}-file").write_text("half\n")
    (state / f"staging-{pid}-link").symlink_to(victim, target_is_directory=True)
    run_galaxy(config, until="xray")
    assert not [p for p in state.iterdir() if p.name.startswith("staging-")]
    assert (victim / "f").read_text() == "keep\n"


def test_classify_with_a_fixed_density(tmp_path, write_config):
    """Chance coincidences and match probabilities of the M101 candidates (no photometry of
    M101 ships, so no donor masses): n_chance = pi r_2sigma^2 rho, p_chance = 1 - exp(-n)."""
    rho = 0.05
    config = write_config(
        m101_toml().replace("[outputs]", f"[classify]\ndensity = {rho}\n\n[outputs]")
    )
    res = run_galaxy(config)
    summary = {s.step: s.summary for s in res.steps}["classify"]
    assert summary["parts"] == ["chance", "probabilities"]
    assert summary["sources"] == 555 and summary["xrb_classes"] == {"unclassified": 555}
    cands = xrbid.read_table(tmp_path / "out" / "classified_candidates.ecsv")
    r = cands["pu_2sigma"].to_numpy(float)
    np.testing.assert_allclose(cands["n_chance"], np.pi * r**2 * rho, rtol=1e-12)
    np.testing.assert_allclose(cands["p_chance"], 1 - np.exp(-np.pi * r**2 * rho), rtol=1e-12)
    classes = xrbid.read_table(tmp_path / "out" / "classes.ecsv")
    with_cands = classes[classes["n_candidates"] > 0]
    assert len(with_cands) == cands["source_id"].nunique()
    assert ((with_cands["p_any"] > 0) & (with_cands["p_any"] <= 1)).all()
    html = (tmp_path / "out" / "report.html").read_text()
    assert 'id="classes"' in html and "unclassified 555" in html
    # a change of density reruns the classification and the report only
    write_config(m101_toml().replace("[outputs]", "[classify]\ndensity = 0.1\n\n[outputs]"))
    states = {s.step: s.state for s in run_galaxy(config).steps}
    assert states["counterparts"] == "up to date"
    assert states["classify"] == states["report"] == "ran"


def test_classify_models_need_the_distance(tmp_path, write_config):
    models = TESTDATA / "mist-isochrone-panstarrs" / "MIST_iso_5fd2532653c27.iso.cmd"
    text = m101_toml().replace("[outputs]", f'[classify]\nmodels = "{models}"\n\n[outputs]')
    with pytest.raises(InputError, match=r"\[classify\]\.models needs the distance"):
        run_galaxy(write_config(text))
