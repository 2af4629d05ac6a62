"""Colour-magnitude diagram of the counterpart candidates (matplotlib, Agg backend)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from xrbid._io import atomic_output
from xrbid.errors import ColumnError

__all__ = ["plot_cmd"]


def plot_cmd(
    table: pd.DataFrame,
    path: str | os.PathLike,
    *,
    blue: str,
    red: str,
    magnitude: str | None = None,
    absolute: bool = False,
    label_column: str | None = "source_id",
    overwrite: bool = False,
    dpi: int = 150,
) -> Path:
    """Write a colour-magnitude diagram (PNG/PDF by extension) of a `photometer_counterparts` table.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of `photometer_counterparts`.
    path : path-like
        Output image file (written atomically).
    blue, red : str
        Filters of the colour ``blue - red`` (e.g. ``"F555W"``, ``"F814W"``).
    magnitude : str, optional
        Filter on the y axis (default ``red``).
    absolute : bool
        Plot ``<filter>_abs_mag`` (needs a distance modulus).
    label_column : str, optional
        Column whose value labels each point (X-ray source ID), if present.
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> plot_cmd(phot, "cmd.png", blue="F606W", red="F814W")  # doctest: +SKIP
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    b, r = blue.lower(), red.lower()
    m = (magnitude or red).lower()
    ycol = f"{m}_abs_mag" if absolute else f"{m}_mag"
    needed = [f"{b}_mag", f"{r}_mag", ycol]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise ColumnError(
            f"cannot draw the CMD: columns {', '.join(missing)} are missing (measure both "
            f"{blue} and {red}{' with a distance modulus' if absolute else ''})"
        )
    colour = table[f"{b}_mag"] - table[f"{r}_mag"]
    mag = table[ycol]
    ok = np.isfinite(colour) & np.isfinite(mag)
    fig, ax = plt.subplots(figsize=(5, 6))
    if f"{b}_{r}_err" in table and f"{m}_mag_err" in table:
        ax.errorbar(
            colour[ok],
            mag[ok],
            xerr=table.loc[ok, f"{b}_{r}_err"],
            yerr=table.loc[ok, f"{m}_mag_err"],
            fmt="o",
            ms=4,
            lw=0.8,
            color="k",
        )
    else:
        ax.plot(colour[ok], mag[ok], "o", ms=4, color="k")
    if label_column and label_column in table:
        for xv, yv, text in zip(colour[ok], mag[ok], table.loc[ok, label_column]):
            ax.annotate(str(text), (xv, yv), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.invert_yaxis()
    ax.set_xlabel(f"{blue.upper()} - {red.upper()} (mag)")
    info = table.attrs.get("photometry", {}).get((magnitude or red).upper(), {})
    system = f"{info['system']} " if info.get("system") else ""
    ax.set_ylabel(f"{'M' if absolute else 'm'}({(magnitude or red).upper()}) ({system}mag)")
    ax.set_title(f"{int(ok.sum())} of {len(table)} candidates with both magnitudes", fontsize=9)
    fig.tight_layout()
    out = Path(path)
    suffix = out.suffix.lstrip(".") or "png"
    try:
        with atomic_output(out, overwrite) as tmp:
            fig.savefig(tmp, dpi=dpi, format=suffix)
    finally:
        plt.close(fig)
    return out
