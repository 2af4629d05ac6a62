"""The alignment residual plot: offsets, the shift and its 1σ ellipse."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .._io import atomic_output

if TYPE_CHECKING:
    from .solution import AlignmentSolution


def plot_residuals(
    solution: AlignmentSolution, path: str | os.PathLike, *, overwrite: bool = False
) -> Path:
    """Save a PNG of the offsets (reference − X-ray) with the shift and its 1σ ellipse."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Ellipse

    fig = Figure(figsize=(5.5, 5.0), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    pairs = solution.pairs
    if len(pairs):
        used = pairs["used"].to_numpy(bool)
        dx = pairs["dx"].to_numpy(float)
        dy = pairs["dy"].to_numpy(float)
        ax.scatter(dx[used], dy[used], s=18, color="C0", label=f"used ({used.sum()})")
        if (~used).any():
            ax.scatter(
                dx[~used],
                dy[~used],
                s=22,
                marker="x",
                color="0.5",
                label=f"not used ({(~used).sum()})",
            )
    if np.isfinite(solution.shift_x) and np.isfinite(solution.shift_y):
        ax.plot(
            solution.shift_x,
            solution.shift_y,
            marker="+",
            ms=16,
            mew=2,
            color="C3",
            label=f'shift ({solution.shift_x:+.3f}", {solution.shift_y:+.3f}")',
        )
        if np.isfinite(solution.std_x) and np.isfinite(solution.std_y):
            ax.add_patch(
                Ellipse(
                    (solution.shift_x, solution.shift_y),
                    2 * solution.std_x,
                    2 * solution.std_y,
                    fill=False,
                    color="C3",
                    ls="--",
                    label=f'1σ ({solution.std_x:.3f}", {solution.std_y:.3f}")',
                )
            )
    ax.axhline(0, color="0.8", lw=0.8)
    ax.axvline(0, color="0.8", lw=0.8)
    ax.set_xlabel("Δξ = ΔRA·cos δ  (arcsec, east)")
    ax.set_ylabel("Δη = ΔDec  (arcsec, north)")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(f"{solution.method} alignment, reference − X-ray", fontsize=10)
    ax.legend(fontsize=8, loc="best")
    with atomic_output(path, overwrite) as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)
