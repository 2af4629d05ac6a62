"""The publication colour-magnitude diagram."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure

from xrbid.errors import ColumnError, InputError
from xrbid.figures import cmd_data, parse_color, plot_cmd


def _containers(ax):
    return [c for c in ax.containers if isinstance(c, ErrorbarContainer)]


def test_labels_use_true_minus_signs_and_the_system(candels_phot):
    fig = plot_cmd(candels_phot, "F606W-F814W", "F606W")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "F606W \N{MINUS SIGN} F814W (AB)"
    assert ax.get_ylabel() == "F606W (AB)"
    assert ax.get_title() == ""  # no run log above a paper figure
    assert ax.yaxis_inverted()
    fig = plot_cmd(candels_phot, "F606W-F814W", "F814W", absolute=True, system="vega")
    assert fig.axes[0].get_ylabel() == r"$M_{\mathrm{F814W}}$ (Vega)"


def test_points_and_error_bars_are_the_measured_colours(candels_phot):
    t = candels_phot
    fig = plot_cmd(t, ("F606W", "F850LP"), "F606W")
    ax = fig.axes[0]
    drawn = np.vstack([np.column_stack(c.lines[0].get_data()) for c in _containers(ax)])
    colour = t["f606w_mag"] - t["f850lp_mag"]  # by hand, from the table
    ok = colour.notna()
    expected = np.column_stack([colour[ok], t.loc[ok, "f606w_mag"]])
    np.testing.assert_allclose(
        drawn[np.lexsort(drawn.T)], expected[np.lexsort(expected.T)], rtol=0, atol=1e-12
    )
    assert ok.sum() < len(t)  # the F850LP-less edge source is left out, not drawn at NaN
    # the error bar of the colour is the two magnitude errors in quadrature
    pts = cmd_data(t, "F606W-F850LP", "F606W")
    i = int(np.flatnonzero(ok)[0])
    assert pts["colour_err"].iloc[i] == pytest.approx(
        np.sqrt(t["f606w_mag_err"].iloc[i] ** 2 + t["f850lp_mag_err"].iloc[i] ** 2)
    )


def test_flagged_points_are_drawn_apart(candels_phot):
    t = candels_phot
    flagged = t[[c for c in t.columns if c.endswith("_flag_edge")]].any(axis=1)
    assert flagged.sum() == 1  # the source on the cutout's edge (x = 1.1)
    ax = plot_cmd(t, "F606W-F814W").axes[0]
    markers = {c.lines[0].get_marker(): len(c.lines[0].get_xdata()) for c in _containers(ax)}
    assert markers == {"o": 2, "s": 1}
    labels = ax.get_legend_handles_labels()[1]
    assert any(lab.startswith("1 flagged") for lab in labels)


def test_labels_are_off_by_default_and_on_for_chosen_ids(candels_phot):
    ax = plot_cmd(candels_phot, "F606W-F814W").axes[0]
    assert len(ax.texts) == 0
    ax = plot_cmd(candels_phot, "F606W-F814W", labels=["CXO 1"]).axes[0]
    assert sorted(t.get_text() for t in ax.texts) == ["CXO 1:1", "CXO 1:2"]
    ax = plot_cmd(candels_phot, "F606W-F814W", labels=["CXO 2:1"]).axes[0]
    assert [t.get_text() for t in ax.texts] == ["CXO 2:1"]


def test_extinction_vector(candels_phot):
    a = {"F606W": 0.30, "F814W": 0.17}
    ax = plot_cmd(candels_phot, "F606W-F814W", "F606W", extinction=a).axes[0]
    arrows = [t for t in ax.texts if t.arrow_patch is not None]
    assert len(arrows) == 1
    (x0, y0), (x1, y1) = arrows[0].xyann, arrows[0].xy
    assert (x1 - x0, y1 - y0) == pytest.approx((0.30 - 0.17, 0.30))
    with pytest.raises(InputError, match="needs A for F814W"):
        plot_cmd(candels_phot, "F606W-F814W", extinction={"F606W": 0.3})


def test_model_tracks(candels_phot):
    track = pd.DataFrame({"colour": [0.0, 0.5, 1.0], "mag": [25.0, 26.0, 27.5]})
    bands = pd.DataFrame({"ACS_WFC_F606W": [26.0, 27.0], "ACS_WFC_F814W": [25.5, 26.0]})
    ax = plot_cmd(candels_phot, "F606W-F814W", tracks={"10 Myr": track, "bands": bands}).axes[0]
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    np.testing.assert_allclose(lines["10 Myr"].get_xdata(), [0.0, 0.5, 1.0])
    np.testing.assert_allclose(lines["bands"].get_xdata(), [0.5, 1.0])
    np.testing.assert_allclose(lines["bands"].get_ydata(), [25.5, 26.0])  # y = the red filter
    with pytest.raises(ColumnError, match="no F606W band"):
        plot_cmd(candels_phot, "F606W-F814W", tracks=[pd.DataFrame({"g": [1.0]})])
    with pytest.raises(ColumnError, match="model track '1 Gyr' has no F606W band"):
        plot_cmd(candels_phot, "F606W-F814W", tracks={"1 Gyr": pd.DataFrame({"PS_g": [1.0]})})


def test_nothing_to_draw_is_one_clear_error(candels_phot):
    wfpc2 = candels_phot.copy()
    wfpc2["f606w_mag"] = np.nan  # e.g. no zero point for the blue filter
    with pytest.raises(InputError, match=r"nothing to draw: .*F606W: 0, F814W: 3"):
        plot_cmd(wfpc2, "F606W-F814W")
    with pytest.raises(ColumnError, match="f555w_mag"):
        plot_cmd(candels_phot, "F555W-F814W")


def test_any_pair_of_filters_and_colour_parsing():
    assert parse_color("f555w-F814W") == ("F555W", "F814W")
    assert parse_color("F555W\N{MINUS SIGN}F814W") == ("F555W", "F814W")
    with pytest.raises(InputError, match="two filters"):
        parse_color("F555W")


def test_ax_is_honoured(candels_phot):
    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert plot_cmd(candels_phot, "F606W-F814W", ax=right) is fig
    assert _containers(right) and not _containers(left)


@pytest.mark.mpl_image_compare(baseline_dir="baseline", tolerance=3)
def test_cmd_image(candels_phot):
    track = pd.DataFrame({"colour": [-1.2, -0.6, 0.0], "mag": [26.2, 26.5, 27.0]})
    return plot_cmd(
        candels_phot,
        "F606W-F814W",
        "F606W",
        labels=["CXO 1"],
        extinction={"F606W": 0.30, "F814W": 0.17},
        tracks={"model": track},
    )


def test_mist_isochrone_as_tracks(testdata):
    from xrbid.classify.models import read_models
    from xrbid.figures import model_tracks

    models = read_models(testdata / "mist-isochrone-panstarrs" / "MIST_iso_5fd2532653c27.iso.cmd")
    tracks = model_tracks(models, distance_modulus=29.0)
    assert list(tracks) == ["log t = 10.08"]
    (iso,) = tracks.values()
    np.testing.assert_allclose(iso["PS_g"], models.table["PS_g"] + 29.0)
    # a g, r candidate table: the isochrone is drawn as g - r against r
    cands = pd.DataFrame({"source_id": ["A", "B"], "g_mag": [30.1, 31.0], "r_mag": [29.5, 30.6]})
    ax = plot_cmd(cands, "g-r", tracks=tracks).axes[0]
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == "log t = 10.08"]
    np.testing.assert_allclose(line.get_xdata(), models.table["PS_g"] - models.table["PS_r"])
    np.testing.assert_allclose(line.get_ydata(), models.table["PS_r"] + 29.0)


def test_system_read_back_from_a_file_labels_the_axes(candels_phot, tmp_path):
    """A table written and read again has no attrs: the <f>_mag_system columns carry it."""
    from xrbid.tables import read_table, write_table

    path = tmp_path / "phot.ecsv"
    write_table(candels_phot, path)
    table = read_table(path)
    assert not table.attrs.get("photometry")
    assert set(table["f606w_mag_system"]) == {candels_phot.attrs["photometry"]["F606W"]["system"]}
    fig = plot_cmd(table, "F606W-F814W", "F606W")
    assert fig.axes[0].get_xlabel() == "F606W \N{MINUS SIGN} F814W (AB)"
