"""The residual plot of a photometric calibration and its file output."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from astropy.stats import mad_std

from xrbid.errors import InputError

from ._design import _numeric
from .photometric_solution import PhotometricSolution

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["PLOT_FORMATS", "check_plot_path", "plot_photometric_residuals", "plot_residuals"]


def plot_photometric_residuals(
    solution: PhotometricSolution,
    stars: pd.DataFrame,
    *,
    ax: Sequence[Axes] | None = None,
) -> Figure:
    """Draw the fit residuals against standard magnitude, colour (or airmass), x and y.

    Parameters
    ----------
    solution : PhotometricSolution
        The fit.
    stars : pandas.DataFrame
        The table that was fitted (same rows).
    ax : sequence of matplotlib.axes.Axes, optional
        One axes per panel (up to four: magnitude, colour or airmass, x, y, as the table
        has them); by default a new figure with two panels per row.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_photometric_residuals(sol, joined)  # doctest: +SKIP
    """
    cols = solution.columns
    observed = _numeric(stars, cols["mag"]) - _numeric(stars, solution.ref_mag)
    resid = observed - solution.model(stars)
    used, valid = solution.used, solution.valid
    clipped = valid & ~used
    panels: list[tuple[str, np.ndarray]] = [
        (f"standard magnitude {solution.ref_mag}", _numeric(stars, solution.ref_mag))
    ]
    f = solution.filters
    if len(f) >= 2 and all(c in stars.columns for c in f[:2]):
        colour = _numeric(stars, f[0]) - _numeric(stars, f[1])
        panels.append((f"colour C = {f[0]} \N{MINUS SIGN} {f[1]}", colour))
    elif cols["airmass"] in stars.columns:
        panels.append(("airmass", _numeric(stars, cols["airmass"])))
    for axis in ("x", "y"):
        if cols[axis] in stars.columns:
            panels.append((f"{axis} (pixel)", _numeric(stars, cols[axis])))

    if ax is None:
        from matplotlib.figure import Figure

        rows = (len(panels) + 1) // 2
        fig = Figure(figsize=(9, 3.5 * rows + 0.5), layout="constrained")
        axes = list(np.atleast_1d(fig.subplots(rows, 2)).ravel())
    else:
        axes = list(ax)
        if len(axes) < len(panels):
            raise InputError(
                f"the residual plot has {len(panels)} panels; give {len(panels)} axes, "
                f"not {len(axes)}"
            )
        fig = axes[0].figure
    size = 2 if used.sum() > 500 else 4
    low, high = _ylim(resid[used])
    # clipped stars beyond the axis are drawn on its edge as triangles pointing outwards
    shown = np.clip(resid, low, high)
    inside, above, below = (
        clipped & (resid > low) & (resid < high),
        clipped & (resid >= high),
        clipped & (resid <= low),
    )
    for ax, (label, values) in zip(axes, panels):
        ax.axhline(0.0, color="0.5", lw=0.8)
        ax.plot(values[used], resid[used], ".", ms=size, color="k", alpha=0.5, label="used")
        for sel, marker in ((inside, "x"), (above, "^"), (below, "v")):
            if sel.any():
                ax.plot(
                    values[sel], shown[sel], marker, ms=size + 1, color="tab:red", label="clipped"
                )
        ax.set_xlabel(label)
        ax.set_ylabel("observed \N{MINUS SIGN} model (mag)")
        ax.set_ylim(low * 1.04, high * 1.04)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    axes[0].legend(unique.values(), unique.keys(), loc="upper right", fontsize="small")
    fixed = [f"{t.name}={t.value:g}" for t in solution.plan.by_mode("fixed")]
    fig.suptitle(
        f"terms: ZP{''.join(',' + t for t in solution.kept)}"
        f"{'; fixed ' + ','.join(fixed) if fixed else ''} | {solution.n_used} stars, "
        f"rms {solution.rms:.4f} mag, {solution.n_clipped} clipped"
    )
    return fig


def plot_residuals(
    solution: PhotometricSolution,
    stars: pd.DataFrame,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
) -> Path:
    """Save `plot_photometric_residuals` in the format the suffix of ``path`` names.

    Parameters
    ----------
    solution, stars
        See `plot_photometric_residuals`.
    path : str or path-like
        Output image (``.png``, ``.pdf``, ``.svg``, ...), written atomically.
    overwrite : bool
        Replace ``path`` if it exists.

    Examples
    --------
    >>> plot_residuals(sol, joined, "residuals.png")  # doctest: +SKIP
    """
    from xrbid.figures import save_figure

    check_plot_path(path)
    return save_figure(
        plot_photometric_residuals(solution, stars), path, overwrite=overwrite, dpi=110
    )


PLOT_FORMATS = ("png", "pdf", "svg", "eps", "ps", "jpg", "jpeg")
"""File formats of the residual plot (by extension; see `xrbid.figures.FIGURE_FORMATS`)."""


def check_plot_path(path: str | os.PathLike) -> str:
    """Return the plot format of ``path`` from its extension; `InputError` if unsupported."""
    from xrbid.figures import figure_format

    return figure_format(path)


def _ylim(resid: np.ndarray) -> tuple[float, float]:
    if resid.size == 0:
        return -1.0, 1.0
    half = max(6 * float(mad_std(resid)), 0.02)
    return -half, half
