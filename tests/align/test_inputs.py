"""The input selection and QA of the CSC 2.1 fine-astrometry specification (§5.1, §5.5).

A synthetic stack in which every filter removes rows known in advance: those rows are put
next to reference sources at a *wrong* offset, so a filter that fails to remove them moves
the shift; the counts each filter reports are checked against the rows built to fail it.
Then the shipped Chandra astromon pairs, with the off-axis cut counted independently.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from xrbid.align import align_wls, align_wls_stacks
from xrbid.align.inputs import INPUT_FILTERS, select_intermediate, select_xray
from xrbid.cli.main import cli
from xrbid.errors import InputError
from xrbid.sky import from_tangent_plane
from xrbid.tables import read_table

SHIFT = (0.30, -0.20)  # reference - X-ray, arcsec
WRONG = (0.90, 0.60)  # the offset of every row a filter should remove
RA0, DEC0 = 150.0, 2.0
# rows built to fail exactly one filter each
BAD = {"off_axis": 3, "saturated": 2, "convex_hull": 2, "likelihood": 4}


def _stack(seed: int = 5, n_good: int = 30):
    """A stack: good detections at SHIFT from their counterparts, bad ones at WRONG."""
    rng = np.random.default_rng(seed)
    kinds = ["good"] * n_good + [k for k, n in BAD.items() for _ in range(n)]
    rng.shuffle(kinds)
    kinds = np.array(kinds)
    n = len(kinds)
    xi, eta = rng.uniform(-300, 300, (2, n))
    good = kinds == "good"
    off = np.where(good[:, None], SHIFT, WRONG)
    noise = rng.normal(0, 0.02, (n, 2))
    xra, xdec = from_tangent_plane(xi - off[:, 0] + noise[:, 0], eta - off[:, 1] + noise[:, 1],
                                   RA0, DEC0)  # fmt: skip
    rra, rdec = from_tangent_plane(xi, eta, RA0, DEC0)
    names = [f"2CXO J{100000 + i:06d}.0+020000" for i in range(n)]
    names = [nm + "X" if k == "convex_hull" else nm for nm, k in zip(names, kinds)]
    xray = pd.DataFrame(
        {
            "source_id": names,
            "ra": xra,
            "dec": xdec,
            "err_r0": 0.4,
            "err_r1": 0.3,
            "theta": np.where(kinds == "off_axis", 12.0, rng.uniform(0.5, 9.5, n)),
            "counts": 80.0,
            "sat_src_flag": kinds == "saturated",
            "likelihood": np.where(kinds == "likelihood", "FALSE",
                                   rng.choice(["TRUE", "MARGINAL"], n)),
        }
    )  # fmt: skip
    reference = pd.DataFrame({"source_id": [f"G{i}" for i in range(n)], "ra": rra, "dec": rdec})
    return xray, reference, kinds


def test_each_filter_removes_its_rows():
    xray, _, kinds = _stack()
    sel = select_xray(xray)
    assert sel.removed == BAD
    assert list(sel.removed) == list(INPUT_FILTERS)[:4]  # counted in the documented order
    assert (sel.keep == (kinds == "good")).all()
    assert (sel.removed_by[~sel.keep] == kinds[~sel.keep]).all()
    assert sel.n_removed == sum(BAD.values())


def test_a_row_failing_several_filters_is_counted_once_by_the_first():
    df = pd.DataFrame({"theta": [12.0, 2.0], "sat_src_flag": [True, True],
                       "likelihood": ["FALSE", "TRUE"]})  # fmt: skip
    sel = select_xray(df)
    assert sel.removed == {"off_axis": 1, "saturated": 1, "convex_hull": None, "likelihood": 0}
    assert sel.skipped == {"convex_hull": "no source name column"}


def test_filter_values_as_the_csc_writes_them():
    # sat_src_flag as text or 0/1 (null: not set); likelihood classes in any case, or booleans
    # when a column of TRUE classes was read as such; a numeric likelihood is not a class
    df = pd.DataFrame({"sat_src_flag": ["TRUE", "False", None, "1"]})
    assert select_xray(df).removed["saturated"] == 2
    df = pd.DataFrame({"sat_src_flag": [1, 0, np.nan, 0]})
    assert select_xray(df).removed["saturated"] == 1
    df = pd.DataFrame({"likelihood_class": ["true", "Marginal", "FALSE", None]})
    assert select_xray(df).removed["likelihood"] == 2
    assert select_xray(pd.DataFrame({"likelihood": [True, True]})).removed["likelihood"] == 0
    numeric = select_xray(pd.DataFrame({"likelihood": [12.5, 3.0]}))
    assert numeric.removed["likelihood"] is None and "numeric" in numeric.skipped["likelihood"]
    # theta_mean stands in for theta; the limit is strict (a detection at 10' is out)
    df = pd.DataFrame({"theta_mean": [9.99, 10.0, np.nan]})
    assert select_xray(df).keep.tolist() == [True, False, False]
    assert select_xray(df, max_theta="15arcmin").removed["off_axis"] == 1
    with pytest.raises(InputError, match="max_theta"):
        select_xray(df, max_theta="-1arcmin")


def test_cc_flags():
    sel = select_intermediate(pd.DataFrame({"cc_flags": ["0000", "00d0", "H000", "0", 0]}))
    assert sel.keep.tolist() == [True, False, False, True, True]
    assert sel.removed == {"cc_flags": 2}
    off = select_intermediate(pd.DataFrame({"cc_flags": ["d000"]}), require_cc_flags_zero=False)
    assert off.keep.all() and off.removed == {"cc_flags": None}
    assert select_intermediate(pd.DataFrame({"ra": [1.0]})).skipped == {
        "cc_flags": "no cc_flags column"
    }


def test_wls_uses_only_the_selected_rows_and_reports_the_counts():
    xray, reference, kinds = _stack()
    sol = align_wls(xray, reference, ref_point=(RA0, DEC0))
    assert sol.selection == BAD
    assert sol.shift_x == pytest.approx(SHIFT[0], abs=0.01)
    assert sol.shift_y == pytest.approx(SHIFT[1], abs=0.01)
    # the pairs name rows of the table as given, and only good ones
    rows = sol.pairs["xray_row"].to_numpy(int)
    assert (kinds[rows] == "good").all()
    assert (xray["source_id"].to_numpy()[rows] == sol.pairs["xray_id"].to_numpy()).all()
    assert sol.n_used == (kinds == "good").sum()
    assert "inputs removed: off-axis 3, saturated 2, convex-hull 2, likelihood 4" in sol.summary()
    back = type(sol).from_dict(json.loads(json.dumps(sol.to_dict())))
    assert back.selection == BAD


@pytest.mark.parametrize(
    ("switch", "name"),
    [
        ({"max_theta": None}, "off_axis"),
        ({"exclude_saturated": False}, "saturated"),
        ({"exclude_convex_hull": False}, "convex_hull"),
        ({"likelihood_classes": None}, "likelihood"),
    ],
)
def test_each_filter_can_be_switched_off(switch, name):
    xray, reference, kinds = _stack()
    sol = align_wls(xray, reference, ref_point=(RA0, DEC0), **switch)
    assert sol.selection[name] is None
    assert {k: v for k, v in sol.selection.items() if k != name} == {
        k: v for k, v in BAD.items() if k != name
    }
    # the switched-off filter's rows are fitted now: they are candidate pairs
    used_kinds = set(kinds[sol.pairs["xray_row"].to_numpy(int)])
    assert name in used_kinds


def test_the_selection_is_not_a_no_op():
    # without any filter the wrong rows pull the shift away from SHIFT
    xray, reference, _ = _stack()
    everything = align_wls(
        xray, reference, ref_point=(RA0, DEC0), max_theta=None, exclude_saturated=False,
        exclude_convex_hull=False, likelihood_classes=None, loss="linear",
    )  # fmt: skip
    assert abs(everything.shift_x - SHIFT[0]) > 0.05


def test_notes_name_filters_without_their_column():
    xray, reference, _ = _stack()
    sol = align_wls(xray.drop(columns=["sat_src_flag"]), reference, ref_point=(RA0, DEC0))
    assert sol.selection["saturated"] is None
    assert any("saturated filter not applied (no sat_src_flag column)" in n for n in sol.notes)


def test_everything_removed_is_a_clear_error():
    xray, reference, _ = _stack()
    with pytest.raises(InputError, match="left no X-ray source") as caught:
        align_wls(xray, reference, max_theta="0.1arcmin")
    # the hint names the filters that removed rows, as keyword and command-line option
    message = str(caught.value)
    assert message.endswith(
        "switch off max_theta=None (--all-theta) or raise the limit (0.1 arcmin; theta is in "
        "arcmin)"
    )
    assert "keep-saturated" not in message and "likelihood" not in message


def test_everything_removed_hint_names_each_filter_that_removed_rows():
    xray, reference, _ = _stack()
    with pytest.raises(InputError) as caught:
        align_wls(xray.assign(likelihood="FALSE"), reference)
    message = str(caught.value)
    assert "switch off " in message
    for hint in ("--all-theta", "--keep-saturated", "--keep-convex-hull", "--likelihood any"):
        assert hint in message  # each of the four removed some of the stack's rows


@pytest.mark.parametrize("limit", ["-1arcmin", "0arcsec"])
def test_max_theta_must_be_positive_said_in_arcmin(limit):
    xray, reference, _ = _stack()
    with pytest.raises(InputError, match=r"max_theta \(--max-theta\) must be a positive angle"):
        align_wls(xray, reference, max_theta=limit)


def test_stacks_report_per_stack_counts():
    a_x, a_r, _ = _stack(seed=5)
    b_x, b_r, b_k = _stack(seed=6, n_good=20)
    b_x = b_x[(b_k != "saturated")]  # stack b has no saturated rows
    xray = pd.concat([a_x.assign(stack_id="a"), b_x.assign(stack_id="b")], ignore_index=True)
    ref = pd.concat([a_r.assign(stack_id="a"), b_r.assign(stack_id="b")], ignore_index=True)
    table = align_wls_stacks(xray, ref)
    assert table.loc["a", "removed_off_axis"] == 3 and table.loc["b", "removed_saturated"] == 0
    assert table.loc["a", "removed_likelihood"] == 4 and table.loc["b", "removed_convex_hull"] == 2
    for s in ("a", "b"):
        assert table.loc[s, "shift_x"] == pytest.approx(SHIFT[0], abs=0.01)
    # a stack whose every detection is removed keeps its row, without matches
    lone = xray[xray["stack_id"] == "a"].assign(stack_id="far", theta=11.0)
    table = align_wls_stacks(pd.concat([xray, lone], ignore_index=True), ref)
    assert table.loc["far", "no_matches"] and table.loc["far", "n_used"] == 0
    assert table.loc["far", "removed_off_axis"] == len(lone)


# ---------------------------------------------------------------------------- two-step QA


def _two_step(seed=8, n=40, n_ref_near=5, s1=(0.3, -0.2), s2=(0.1, 0.15)):
    """X-ray -> ALLWISE offset s1, ALLWISE -> Gaia offset s2; Gaia reaches only a few."""
    rng = np.random.default_rng(seed)
    xi, eta = rng.uniform(-400, 400, (2, n))
    ira, idec = from_tangent_plane(xi, eta, RA0, DEC0)
    xra, xdec = from_tangent_plane(xi - s1[0] + rng.normal(0, 0.03, n),
                                   eta - s1[1] + rng.normal(0, 0.03, n), RA0, DEC0)  # fmt: skip
    rra, rdec = from_tangent_plane(xi + s2[0], eta + s2[1], RA0, DEC0)
    ids = [f"G{i}" for i in range(n)]
    xray = pd.DataFrame({"ra": xra, "dec": xdec, "err_r0": 0.5, "err_r1": 0.4,
                         "theta": 3.0, "counts": 50.0})  # fmt: skip
    inter = pd.DataFrame({"ra": ira, "dec": idec, "err_ra": 0.2, "err_dec": 0.2,
                          "reference_id": ids, "cc_flags": "0000"})  # fmt: skip
    reference = pd.DataFrame({"source_id": ids, "ra": rra, "dec": rdec})
    far = np.arange(n) >= n_ref_near
    reference.loc[far, "dec"] += 0.01
    inter.loc[far, "reference_id"] = "none"
    return xray, inter, reference


def test_two_step_density_flag_uses_the_allwise_density():
    xray, inter, reference = _two_step()
    # sparse Gaia, crowded ALLWISE: §5.5.4 step 14 flags the ALLWISE density
    sol = align_wls(xray, reference, ref_point=(RA0, DEC0), intermediate=inter,
                    density=5.0, intermediate_density=150.0)  # fmt: skip
    assert sol.method == "wls-two-step"
    assert sol.flags["density_high"]
    assert sol.params["density_flagged"] == "intermediate"
    assert sol.params["intermediate_density"] == 150.0 and sol.params["density"] == 5.0
    quiet = align_wls(xray, reference, ref_point=(RA0, DEC0), intermediate=inter,
                      density=150.0, intermediate_density=5.0)  # fmt: skip
    assert quiet.method == "wls-two-step" and not quiet.flags["density_high"]
    # the counted ALLWISE density: 40 sources within 10' -> 40 / (pi 100) per arcmin^2
    counted = align_wls(xray, reference, ref_point=(RA0, DEC0), intermediate=inter)
    assert counted.params["intermediate_density"] == pytest.approx(40 / (np.pi * 100.0))


def test_direct_fit_density_flag_uses_the_gaia_density():
    xray, inter, reference = _two_step(n_ref_near=40)
    sol = align_wls(xray, reference, ref_point=(RA0, DEC0), intermediate=inter,
                    density=150.0, intermediate_density=5.0)  # fmt: skip
    assert sol.method == "wls" and sol.flags["density_high"]
    assert sol.params["density_flagged"] == "reference"


def test_pair_counts_compare_like_with_like():
    # 6 X-ray rows reach Gaia directly; ALLWISE reaches 5 weighted rows and 4 rows without an
    # error ellipse. Rows without weights can be in neither fit, so 6 >= 5: direct fit.
    xray, inter, reference = _two_step(n=9, n_ref_near=6)
    inter.loc[:5, "ra"] = inter.loc[:5, "ra"] + 0.01  # ALLWISE misses the 6 Gaia-matched rows
    inter = pd.concat([inter, _two_step(seed=9, n=5, n_ref_near=0)[1]], ignore_index=True)
    extra_x = _two_step(seed=9, n=5, n_ref_near=0)[0]
    xray.loc[6:, ["err_r0", "err_r1"]] = np.nan  # the 3 rows ALLWISE reaches lose weights
    xray = pd.concat([xray, extra_x.iloc[:5]], ignore_index=True)
    # ALLWISE pairs: 3 rows (no weight) + 5 rows (weights); Gaia pairs: 6 weighted rows
    sol = align_wls(xray, reference, ref_point=(RA0, DEC0), intermediate=inter)
    assert sol.method == "wls"
    assert any("6 reference pairs >= 5 intermediate pairs" in n for n in sol.notes)


def test_cc_flagged_allwise_sources_are_left_out_of_the_two_step_fit():
    xray, inter, reference = _two_step()
    # five ALLWISE sources flagged as artefacts, displaced so that using them moves step 1
    flagged = [7, 11, 19, 23, 31]
    inter.loc[flagged, "cc_flags"] = "0d00"
    inter.loc[flagged, "dec"] += 0.6 / 3600
    sol = align_wls(xray, reference, ref_point=(RA0, DEC0), intermediate=inter, loss="linear")
    assert sol.method == "wls-two-step"
    assert sol.selection["cc_flags"] == 5
    assert sol.steps[0]["shift_y"] == pytest.approx(-0.2, abs=0.02)
    assert not set(flagged) & set(sol.pairs["ref_row"].astype(int))
    assert "cc-flags 5" in sol.summary()
    kept = align_wls(xray, reference, ref_point=(RA0, DEC0), intermediate=inter,
                     loss="linear", require_cc_flags_zero=False)  # fmt: skip
    assert kept.selection["cc_flags"] is None
    assert set(flagged) <= set(kept.pairs["ref_row"].astype(int))


# ---------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def astromon(testdata):
    d = testdata / "chandra-astromon"
    xray = read_table(d / "astromon_xray_src.ecsv")
    cat = read_table(d / "astromon_cat_src.ecsv")
    obs = read_table(d / "astromon_obs.ecsv")
    xray["source_id"] = xray["obsid"].astype(str) + "-" + xray["id"].astype(str)
    xray["theta"] = xray["r_angle"] / 60.0  # astromon's r_angle is the off-axis angle in arcsec
    return xray, cat, obs


def test_astromon_off_axis_cut(astromon):
    xray, cat, obs = astromon
    # astromon keeps sources near the aim point: none is beyond the spec's 10' (600")
    assert xray["r_angle"].max() < 600.0
    removed_2 = 0
    for o in obs.itertuples():
        x = xray[xray["obsid"] == o.obsid].reset_index(drop=True)
        c = cat[cat["obsid"] == o.obsid]
        sol = align_wls(x, c, weights="uniform", ref_point=(o.ra, o.dec))
        assert sol.selection["off_axis"] == 0
        assert sol.selection["saturated"] is None  # astromon has no sat_src_flag
        assert any("saturated filter not applied" in n for n in sol.notes)
        # a 2' cut, counted here from r_angle (arcsec)
        far = int((x["r_angle"] >= 120.0).sum())
        removed_2 += far
        if far == len(x):
            with pytest.raises(InputError, match="left no X-ray source"):
                align_wls(x, c, weights="uniform", ref_point=(o.ra, o.dec), max_theta="2arcmin")
            continue
        cut = align_wls(x, c, weights="uniform", ref_point=(o.ra, o.dec), max_theta="2arcmin")
        assert cut.selection["off_axis"] == far
        rows = cut.pairs["xray_row"].to_numpy(int)
        assert (x["r_angle"].to_numpy()[rows] < 120.0).all()
        assert (x["source_id"].to_numpy()[rows] == cut.pairs["xray_id"].to_numpy()).all()
        assert cut.n_matched <= sol.n_matched
        if far:
            assert f"off-axis {far}" in cut.summary()
    assert removed_2 == int((xray["r_angle"] >= 120.0).sum()) > 0


def test_cli_reports_the_selection(tmp_path):
    xray, reference, _ = _stack()
    xp, rp = tmp_path / "x.ecsv", tmp_path / "r.ecsv"
    from xrbid.tables import write_table

    write_table(xray, xp)
    write_table(reference, rp)
    out = tmp_path / "sol.json"
    res = CliRunner().invoke(
        cli, ["align", "wls", "--xray", str(xp), "--reference", str(rp), "-o", str(out),
               "--ref-point", f"{RA0},{DEC0}"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "inputs removed: off-axis 3, saturated 2, convex-hull 2, likelihood 4" in res.output
    assert json.loads(out.read_text())["input_selection"] == BAD
    out2 = tmp_path / "sol2.json"
    res = CliRunner().invoke(
        cli, ["align", "wls", "--xray", str(xp), "--reference", str(rp), "-o", str(out2),
               "--all-theta", "--keep-saturated", "--keep-convex-hull", "--likelihood", "any"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(out2.read_text())["input_selection"] == dict.fromkeys(BAD)


@pytest.mark.parametrize("classes", [("BOGUS",), ("TRUE", "MARGINL")])
def test_unknown_likelihood_class_is_refused(classes):
    xray = pd.DataFrame({"ra": [1.0], "dec": [2.0], "likelihood_class": ["TRUE"]})
    with pytest.raises(InputError, match=r"unknown likelihood class .*FALSE, MARGINAL, TRUE"):
        select_xray(xray, likelihood_classes=classes)


def test_theta_text_that_is_not_a_number_is_refused():
    # '1 arcmin' is inside the limit: counting it as off-axis would drop it silently
    df = pd.DataFrame({"theta": ["5arcmin", "1 arcmin"]})
    with pytest.raises(InputError, match="theta holds '5arcmin'"):
        select_xray(df)
    # numbers written as text are numbers; empty cells stay nulls (not inside the limit)
    kept = select_xray(pd.DataFrame({"theta": [" 2.0 ", "12", "", None]}))
    assert kept.keep.tolist() == [True, False, False, False]


def test_sat_src_flag_text_in_every_spelling_and_an_unknown_word():
    df = pd.DataFrame({"sat_src_flag": ["True", "F", "0", "1", "t", "FALSE", "", None]})
    assert select_xray(df).keep.tolist() == [False, True, True, False, False, True, True, True]
    with pytest.raises(InputError, match="neither true nor false"):
        select_xray(pd.DataFrame({"sat_src_flag": ["T", "maybe"]}))
