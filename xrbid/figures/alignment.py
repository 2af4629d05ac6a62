"""The alignment residual plot: offsets on the sky as seen, the shift and its 1σ ellipse."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from xrbid.align import AlignmentSolution

__all__ = ["alignment_title", "draw_alignment", "pair_offsets", "plot_alignment"]

# left, bottom, width, height of the axes of a new figure, in figure fractions
_AXES_RECT = (0.17, 0.21, 0.79, 0.71)
# where the y label's right side is (figure fraction): at a fixed place inside the figure,
# left of tick labels as wide as "−0.125" (a small scatter), never pushed out of the figure
_YLABEL_X = 0.045

_METHODS = {"median": "median offset", "wls": "weighted least squares"}


def alignment_title(solution: AlignmentSolution, field: str | None = None) -> str:
    """``"<field>: <method>, reference − X-ray"`` (``field`` e.g. ``"M101"``, ``"ObsID 14536"``)."""
    method = _METHODS.get(solution.method.split("-")[0], solution.method)
    text = f"{method}, reference \N{MINUS SIGN} X-ray"
    return f"{field}: {text}" if field else text[0].upper() + text[1:]


def plot_alignment(
    solution: AlignmentSolution,
    *,
    ax: Axes | None = None,
    field: str | None = None,
    title: str | None = None,
) -> Figure:
    """Draw the offsets (reference − X-ray) of an alignment with its shift and 1σ ellipse.

    East is to the left and north up, as the sky is seen: a point left of the origin is a
    reference source east of its X-ray source.

    Parameters
    ----------
    solution : xrbid.align.AlignmentSolution
        From `xrbid.align.align_median` or `xrbid.align.align_wls`.
    ax : matplotlib.axes.Axes, optional
        Draw on these axes; by default a new figure.
    field : str, optional
        The field or observation for the title, e.g. ``"M101"`` or ``"ObsID 14536"``.
    title : str, optional
        The whole title instead (see `alignment_title`).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_alignment(solution, field="M101")
    >>> save_figure(fig, "m101_alignment.pdf")  # doctest: +SKIP
    """
    dx, dy, used = pair_offsets(solution)
    return draw_alignment(
        dx,
        dy,
        used,
        (solution.shift_x, solution.shift_y),
        (solution.std_x, solution.std_y),
        title=title if title is not None else alignment_title(solution, field),
        ax=ax,
    )


def pair_offsets(solution: AlignmentSolution) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``dx``, ``dy`` (arcsec, reference − X-ray) and ``used`` (bool) of the calibrator pairs."""
    pairs = solution.pairs
    if not len(pairs):
        return np.zeros(0), np.zeros(0), np.zeros(0, bool)
    return (
        pairs["dx"].to_numpy(float),
        pairs["dy"].to_numpy(float),
        pairs["used"].to_numpy(bool),
    )


def draw_alignment(
    dx: np.ndarray,
    dy: np.ndarray,
    used: np.ndarray,
    shift: tuple[float, float],
    std: tuple[float, float],
    *,
    title: str,
    ax: Axes | None = None,
) -> Figure:
    """`plot_alignment` from plain numbers: the offsets, the shift and its scatter.

    Parameters
    ----------
    dx, dy : numpy.ndarray, shape (n,)
        Offsets reference − X-ray of the calibrator pairs, arcsec (Δα cos δ, Δδ).
    used : numpy.ndarray of bool, shape (n,)
        Whether each pair entered the solution.
    shift, std : (float, float)
        The shift and its 1σ scatter (x, y), arcsec; NaN draws no cross or ellipse.
    title : str
        The axes title (`alignment_title`).
    ax : matplotlib.axes.Axes, optional
        Draw on these axes; by default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.patches import Ellipse

    if ax is None:
        from matplotlib.figure import Figure

        # fixed margins (room for the title, labels and the legend below), not a layout
        # engine: constrained layout measures every text twice and costs a second draw
        fig = Figure(figsize=(5.0, 5.4))
        ax = fig.add_axes(_AXES_RECT)
        ax.yaxis.set_label_coords(_YLABEL_X, 0.5, transform=fig.transFigure)
    else:
        fig = ax.figure
    if len(dx):
        used = np.asarray(used, bool)
        ax.scatter(dx[used], dy[used], s=20, color="C0", label=f"used ({used.sum()})", zorder=3)
        if (~used).any():
            ax.scatter(
                dx[~used],
                dy[~used],
                s=24,
                marker="x",
                color="0.5",
                label=f"not used ({(~used).sum()})",
                zorder=2,
            )
    sx, sy = shift
    std_x, std_y = std
    if np.isfinite(sx) and np.isfinite(sy):
        ax.plot(
            sx,
            sy,
            marker="+",
            ms=16,
            mew=2,
            color="C3",
            ls="none",
            zorder=4,
            label=f'shift ({sx:+.3f}", {sy:+.3f}")',
        )
        if np.isfinite(std_x) and np.isfinite(std_y):
            ax.add_patch(
                Ellipse(
                    (sx, sy),
                    2 * std_x,
                    2 * std_y,
                    fill=False,
                    color="C3",
                    ls="--",
                    label=f'1σ ({std_x:.3f}", {std_y:.3f}")',
                )
            )
    ax.axhline(0, color="0.8", lw=0.8, zorder=1)
    ax.axvline(0, color="0.8", lw=0.8, zorder=1)
    ax.set_aspect("equal", adjustable="datalim")
    ax.autoscale_view()
    if not ax.xaxis_inverted():
        ax.invert_xaxis()  # east to the left
    ax.set_xlabel("Δα cos δ (arcsec; east to the left)")
    ax.set_ylabel("Δδ (arcsec; north up)")
    ax.set_title(title, fontsize=10)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(
            fontsize=9,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.13),
            ncol=2,
            frameon=False,
        )
    return fig
