"""The residual plot of an astrometric fit (`plot_wcs_residuals`) and its file output."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

from .astrometry_fit import WCSFit

__all__ = ["plot_residuals", "plot_wcs_residuals"]


def plot_wcs_residuals(result: WCSFit, *, ax: Sequence[Axes] | None = None) -> Figure:
    """Draw the residuals of a WCS fit: vectors over the image, and dx/dy against x/y.

    Parameters
    ----------
    result : WCSFit
        The fit (`fit_wcs`, `calibrate_wcs`).
    ax : sequence of three matplotlib.axes.Axes, optional
        Draw the three panels on these axes; by default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if ax is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(13, 4.2), layout="constrained")
        axes = list(fig.subplots(1, 3))
    else:
        axes = list(ax)
        if len(axes) < 3:
            raise InputError(
                f"the WCS residual plot has three panels; give three axes, not {len(axes)}"
            )
        fig = axes[0].figure
    m = result.matches
    used = m["used"].to_numpy()
    ax0 = axes[0]
    # residuals are tiny next to the image: magnify so a typical one is ~4% of the field
    extent = max(float(np.ptp(m.x)) if len(m) else 1.0, float(np.ptp(m.y)) if len(m) else 1.0)
    typical = max(result.rms_pix, 1e-6)
    gain = 0.04 * max(extent, 1.0) / typical
    q = ax0.quiver(
        m.x[used],
        m.y[used],
        m.dx[used] * gain,
        m.dy[used] * gain,
        angles="xy",
        scale_units="xy",
        scale=1.0,
        color="tab:blue",
        label="used",
    )
    ax0.quiverkey(q, 0.62, 0.04, typical * gain, f"{typical:.3g} pix", labelpos="E")
    if (~used).any():
        ax0.plot(m.x[~used], m.y[~used], "x", color="tab:red", label="clipped")
    ax0.set_xlabel("x (pixel)")
    ax0.set_ylabel("y (pixel)")
    ax0.set_aspect("equal", adjustable="datalim")
    ax0.legend(loc="best", fontsize="small")
    ax0.set_title(
        f"{result.fit} fit: rms {result.rms_arcsec * 1000:.1f} mas, {result.n_used} stars"
    )
    for panel, coord, comp in ((axes[1], "x", "dx"), (axes[2], "y", "dy")):
        panel.axhline(0, color="0.5", lw=0.8)
        panel.plot(m[coord][used], m[comp][used], ".", color="tab:blue")
        panel.plot(m[coord][~used], m[comp][~used], "x", color="tab:red")
        panel.set_xlabel(f"{coord} (pixel)")
        panel.set_ylabel(f"{comp} detection \N{MINUS SIGN} catalogue (pixel)")
    return fig


def plot_residuals(result: WCSFit, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Save `plot_wcs_residuals` in the format the suffix of ``path`` names, atomically."""
    from xrbid.figures import save_figure

    return save_figure(plot_wcs_residuals(result), path, overwrite=overwrite, dpi=100)
