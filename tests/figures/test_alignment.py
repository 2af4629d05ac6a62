"""The alignment residual plot on a real Chandra observation (astromon, ObsID 14536)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from xrbid.align import align_wls
from xrbid.figures import plot_alignment, save_figure
from xrbid.tables import read_table


@pytest.fixture(scope="module")
def solution(testdata):
    d = testdata / "chandra-astromon"
    xray = read_table(d / "astromon_xray_src.ecsv")
    ref = read_table(d / "astromon_cat_src.ecsv")
    xray["source_id"] = xray["obsid"].astype(str) + "-" + xray["id"].astype(str)
    xray, ref = xray[xray["obsid"] == 14536], ref[ref["obsid"] == 14536]
    return align_wls(xray, ref, weights="uniform", ref_point=(323.5, 67.4))


def test_east_is_to_the_left(solution):
    fig = plot_alignment(solution)
    ax = fig.axes[0]
    assert ax.xaxis_inverted() and not ax.yaxis_inverted()
    fig.canvas.draw()
    # a pair whose reference source lies east (dx > 0) of its X-ray source is drawn left
    # of the origin on the page
    to_page = ax.transData.transform
    east = to_page([(1.0, 0.0)])[0]
    origin = to_page([(0.0, 0.0)])[0]
    north = to_page([(0.0, 1.0)])[0]
    assert east[0] < origin[0] and north[1] > origin[1]


def test_points_are_the_offsets_and_the_shift(solution):
    ax = plot_alignment(solution).axes[0]
    used = solution.pairs["used"].to_numpy(bool)
    (points, *_) = ax.collections
    np.testing.assert_allclose(
        points.get_offsets(), solution.pairs.loc[used, ["dx", "dy"]].to_numpy(float)
    )
    (shift,) = [ln for ln in ax.get_lines() if ln.get_label().startswith("shift")]
    assert shift.get_xydata()[0] == pytest.approx([solution.shift_x, solution.shift_y])


def test_title_names_the_field_and_the_legend_is_readable(solution):
    ax = plot_alignment(solution, field="ObsID 14536").axes[0]
    assert ax.get_title() == "ObsID 14536: weighted least squares, reference \N{MINUS SIGN} X-ray"
    legend = ax.get_legend()
    assert min(t.get_fontsize() for t in legend.get_texts()) >= 9
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels[0] == f"used ({int(solution.pairs['used'].sum())})"
    fig = ax.figure
    fig.canvas.draw()
    # the legend sits below the axes, over none of the points
    assert legend.get_window_extent().y1 <= ax.get_window_extent().y0
    ax = plot_alignment(solution, title="M101").axes[0]
    assert ax.get_title() == "M101"


def test_ax_is_honoured_and_the_suffix_chooses_the_format(solution, tmp_path):
    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert plot_alignment(solution, ax=right) is fig
    assert right.collections and not left.collections
    pdf = solution.plot_residuals(tmp_path / "a.pdf", field="ObsID 14536")
    assert pdf.read_bytes().startswith(b"%PDF")  # not PNG bytes in a .pdf
    svg = save_figure(plot_alignment(solution), tmp_path / "a.svg")
    assert "<svg" in svg.read_text()[:1000]


@pytest.mark.mpl_image_compare(baseline_dir="baseline", tolerance=3)
def test_alignment_image(solution):
    return plot_alignment(solution, field="ObsID 14536")


@pytest.mark.parametrize(
    "scale", [0.1, 0.3, 1.0, 3.0], ids=["ticks-0.125", "ticks-0.20", "ticks-0.5", "ticks-2"]
)
def test_the_y_label_stays_inside_the_figure_left_of_the_tick_labels(scale):
    from xrbid.figures.alignment import draw_alignment

    # M101's five WLS pairs (arcsec), scaled: tick labels from −0.125 to −2
    dx = np.array([0.10, 0.027, -0.043, -0.14, -0.035]) * scale
    dy = np.array([-0.085, -0.075, -0.09, -0.215, 0.08]) * scale
    fig = draw_alignment(
        dx, dy, np.ones(5, bool), (-0.016 * scale, -0.082 * scale), (0.08 * scale, 0.094 * scale),
        title="t",
    )  # fmt: skip
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    ax = fig.axes[0]
    label = ax.yaxis.label.get_window_extent(renderer)
    ticks = [t.get_window_extent(renderer) for t in ax.get_yticklabels() if t.get_text()]
    assert label.x0 >= 0
    assert label.x1 <= min(t.x0 for t in ticks)
