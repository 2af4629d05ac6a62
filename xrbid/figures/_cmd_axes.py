"""The parts of a CMD drawn from plain arrays (numpy only): the points and the axes' labels.

`xrbid.figures.cmd.plot_cmd` draws with them, and so does a run's plotting process (the
``cmd`` kind of `xrbid.figures._jobs`), which therefore needs no pandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["FIGSIZE", "MINUS", "draw_points", "finish_axes"]

FIGSIZE = (4.5, 5.0)
"""Width and height (inches) of a new CMD figure."""
MINUS = "\N{MINUS SIGN}"


def _or_none(err: np.ndarray) -> np.ndarray | None:
    values = np.asarray(err, float)
    return None if not np.isfinite(values).any() else np.nan_to_num(values, nan=0.0)


def draw_points(
    ax: Axes,
    colour: np.ndarray,
    mag: np.ndarray,
    colour_err: np.ndarray,
    mag_err: np.ndarray,
    flagged: np.ndarray,
) -> None:
    """The candidates with their error bars: filled black circles, flagged ones open grey squares.

    Parameters
    ----------
    colour, mag, colour_err, mag_err : numpy.ndarray, shape (n,)
        Colour and magnitude (mag) of the points drawn, and their errors (NaN: none).
    flagged : numpy.ndarray of bool, shape (n,)
        Any photometry flag set in the filters used.
    """
    flagged = np.asarray(flagged, bool)
    for sel, style in (
        (~flagged, dict(fmt="o", ms=4, color="k", mfc="k", ecolor="0.3")),
        (flagged, dict(fmt="s", ms=4, color="0.55", mfc="none", ecolor="0.7")),
    ):
        if not sel.any():
            continue
        n = int(sel.sum())
        what = "flagged (edge, crowded, outside or saturated)" if style["fmt"] == "s" else ""
        ax.errorbar(
            np.asarray(colour, float)[sel],
            np.asarray(mag, float)[sel],
            xerr=_or_none(np.asarray(colour_err, float)[sel]),
            yerr=_or_none(np.asarray(mag_err, float)[sel]),
            lw=0.7,
            capsize=0,
            label=f"{n} {what}".strip() if what else f"{n} candidate{'s' * (n != 1)}",
            zorder=3,
            **style,
        )


def finish_axes(
    ax: Axes,
    blue: str,
    red: str,
    mag: str,
    system: str,
    *,
    absolute: bool,
    legend: bool,
    title: str | None = None,
) -> None:
    """Magnitudes growing downwards, the axes' labels (with the system), legend and title."""
    ax.invert_yaxis()
    ax.set_xlabel(f"{blue} {MINUS} {red} ({system})")
    ylabel = rf"$M_{{\mathrm{{{mag}}}}}$" if absolute else mag
    ax.set_ylabel(f"{ylabel} ({system})")
    if legend:
        ax.legend(fontsize="small", loc="best", frameon=False)
    if title:
        ax.set_title(title)
