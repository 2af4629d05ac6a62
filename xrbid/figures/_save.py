"""Saving figures: the format follows the file name's suffix; writes are atomic, no-clobber."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xrbid._io import atomic_output, check_output
from xrbid.errors import InputError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["FIGURE_FORMATS", "check_figure_path", "figure_format", "new_axes", "save_figure"]

FIGURE_FORMATS: dict[str, str] = {
    ".png": "png",
    ".pdf": "pdf",
    ".svg": "svg",
    ".eps": "eps",
    ".ps": "ps",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
}
"""File-name suffix -> matplotlib output format."""


def figure_format(path: str | os.PathLike) -> str:
    """The matplotlib format named by the suffix of ``path`` (``"x.pdf"`` -> ``"pdf"``).

    Raises
    ------
    InputError
        If the suffix names no supported format (``.png .pdf .svg .eps .ps .jpg .jpeg``).
    """
    suffix = Path(path).suffix.lower()
    fmt = FIGURE_FORMATS.get(suffix)
    if fmt is None:
        raise InputError(
            f"{path}: cannot draw a plot in format {suffix.lstrip('.') or '(no extension)'!r}; "
            f"end the name with one of {', '.join(FIGURE_FORMATS)}"
        )
    return fmt


def check_figure_path(path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Check before any work that ``path`` names a figure format and may be written.

    Raises
    ------
    InputError
        Unsupported suffix, or the folder does not exist.
    OutputExistsError
        The file exists and ``overwrite`` is false.
    """
    figure_format(path)
    return check_output(path, overwrite)


def save_figure(
    fig: Figure,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    dpi: float | None = None,
    **savefig_kwargs: Any,
) -> Path:
    """Write ``fig`` to ``path`` in the format its suffix names, atomically.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure (e.g. the return value of `plot_cmd`).
    path : str or path-like
        Output file; ``.png``, ``.pdf``, ``.svg``, ``.eps``, ``.ps``, ``.jpg``/``.jpeg``.
    overwrite : bool
        Replace an existing file (otherwise `~xrbid.errors.OutputExistsError`).
    dpi : float, optional
        Resolution of raster formats (default: the figure's own).
    **savefig_kwargs
        Passed to `matplotlib.figure.Figure.savefig` (e.g. ``bbox_inches="tight"``).

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    InputError
        If the suffix names no supported format.
    OutputExistsError
        If the file exists and ``overwrite`` is false.

    Examples
    --------
    >>> save_figure(plot_cmd(phot, "F555W-F814W"), "cmd.pdf")  # doctest: +SKIP
    """
    fmt = figure_format(path)
    with atomic_output(path, overwrite) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi if dpi is not None else "figure", **savefig_kwargs)
    return Path(path)


def new_axes(
    ax: Axes | None,
    figsize: tuple[float, float] = (5.0, 5.0),
    **subplot_kwargs: Any,
) -> tuple[Figure, Axes]:
    """The figure and axes to draw on: ``ax`` and its figure, or a new figure of one axes.

    A new figure is a plain `matplotlib.figure.Figure`, not registered with pyplot: the
    caller's backend and pyplot state are never touched, and nothing needs closing.
    """
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot(**subplot_kwargs)
