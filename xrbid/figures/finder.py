"""Finder charts without DS9: an image stamp per X-ray source with its circles and candidates.

The axes' data coordinates are the 0-based pixel coordinates of the (first) image, so a
position drawn at ``image.sky_to_pixel(ra, dec)`` is where the WCS puts it. Stamps keep the
image's orientation; a compass shows north and east.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from astropy import units as u

from xrbid._io import atomic_output, check_output
from xrbid.errors import ColumnError, InputError, XrbidWarning
from xrbid.photometry.images import HSTImage

from ._save import figure_format, new_axes
from .stamp import Stamp, _as_images, make_stamp

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["Stamp", "finder_chart", "finder_paths", "make_stamp", "write_finder_charts"]

ARCSEC_PER_RADIAN = 180.0 * 3600.0 / math.pi
NICE_LENGTHS = (0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)
"""Scale-bar lengths (arcsec) to choose from."""
MIN_SIZE = 3.0
"""Smallest default stamp side (arcsec)."""
SIZE_PER_RADIUS = 4.0
"""Default stamp side in units of the source's 2σ radius."""


def _scale_bar_length(size: float) -> float:
    target = size / 4.0
    return min(NICE_LENGTHS, key=lambda v: abs(math.log(v / target)))


def _distance_pc(distance: float | u.Quantity | None) -> float | None:
    if distance is None:
        return None
    q = u.Quantity(distance, u.Mpc) if not isinstance(distance, u.Quantity) else distance
    try:
        value = float(q.to_value(u.pc))
    except u.UnitConversionError as exc:
        raise InputError(f"distance {distance} is not a length; give e.g. 6.4 Mpc") from exc
    if not value > 0:
        raise InputError(f"distance {distance} must be positive")
    return value


def _compass(ax: Axes, stamp: Stamp, ra: float, dec: float, color: str) -> None:
    """N and E arrows in the upper-left corner, along the WCS directions at the centre."""
    step = 1.0 / 3600.0
    cosd = math.cos(math.radians(dec))
    x, y = stamp.image.sky_to_pixel(
        np.array([ra, ra, ra + step / cosd]), np.array([dec, dec + step, dec])
    )
    x0, x1, y0, y1 = stamp.extent
    length = 0.14 * (x1 - x0)
    base = np.array([x0 + 0.22 * (x1 - x0), y1 - 0.22 * (y1 - y0)])
    for i, name in ((1, "N"), (2, "E")):
        d = np.array([x[i] - x[0], y[i] - y[0]])
        d = d / np.hypot(*d) * length
        ax.annotate(
            "",
            xy=tuple(base + d),
            xytext=tuple(base),
            arrowprops=dict(arrowstyle="-|>", color=color, lw=1.0, shrinkA=0, shrinkB=0),
            gid=f"compass_{name}",
        )
        ax.text(
            *(base + 1.3 * d), name, color=color, ha="center", va="center", fontsize=8, gid=name
        )


def _scale_bar(ax: Axes, stamp: Stamp, size: float, distance_pc: float | None, color: str) -> None:
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    length = _scale_bar_length(size)
    label = f"{length:g}″"
    if distance_pc is not None:
        pc = distance_pc * length / ARCSEC_PER_RADIAN
        label += f" = {pc:.3g} pc" if pc < 1000 else f" = {pc / 1000:.3g} kpc"
    bar = AnchoredSizeBar(
        ax.transData,
        length / stamp.image.pixel_scale,
        label,
        "lower right",
        pad=0.3,
        color=color,
        frameon=False,
        size_vertical=0,
        fontproperties={"size": 7},
    )
    bar.set_gid("scale_bar")
    ax.add_artist(bar)


def _source_value(source: Mapping[str, Any], key: str) -> float:
    try:
        value = float(source[key])
    except (KeyError, TypeError, ValueError):
        return math.nan
    return value


def finder_chart(
    images: Mapping[str, HSTImage | str | os.PathLike] | HSTImage | str | os.PathLike,
    source: Mapping[str, Any] | pd.Series,
    candidates: pd.DataFrame | None = None,
    *,
    size: float | None = None,
    distance: float | u.Quantity | None = None,
    ax: Axes | None = None,
    id_column: str = "source_id",
) -> Figure:
    """Draw the finder chart of one X-ray source.

    The stamp (one band in grey, or three as RGB) keeps the image's pixel grid; the 2σ
    (solid) and 1σ (dashed) circles of the source, its candidates as small circles numbered
    by their ``rank`` in the candidates table, a north/east compass and a scale bar in
    arcsec (and pc when the distance is given) are drawn over it.

    Parameters
    ----------
    images : mapping of str to image, or one image
        See `make_stamp`.
    source : mapping or pandas.Series
        One X-ray source: ``ra``, ``dec`` (deg), ``pu_2sigma`` and optionally ``pu_1sigma``
        (arcsec), and its ID in ``id_column``.
    candidates : pandas.DataFrame, optional
        Counterpart candidates (`xrbid.selection.find_counterparts`): ``ra``, ``dec`` and
        ``id_column``; numbered by ``rank`` (else in table order). Only the rows of this
        source are drawn.
    size : float, optional
        Side of the stamp in arcsec (default ``max(4 × pu_2sigma, 3)``).
    distance : float or Quantity, optional
        Distance of the galaxy (a float is in Mpc) for the scale bar in pc.
    ax : matplotlib.axes.Axes, optional
        Draw on these axes; by default a new figure.
    id_column : str
        Column of the source ID in ``candidates`` (and key in ``source``).

    Returns
    -------
    matplotlib.figure.Figure
        The figure of the axes. The axes' data coordinates are 0-based pixels of the first
        (bluest) image; the circles have ``gid`` ``"pu_1sigma"``/``"pu_2sigma"`` and the
        candidate markers ``"candidates"``.

    Raises
    ------
    InputError
        If the source is not on the image, or the images are unusable (see `make_stamp`).

    Examples
    --------
    >>> fig = finder_chart({"F555W": "f555w_drc.fits"}, best.iloc[0], cands, distance=6.4)
    >>> save_figure(fig, "finder.png")  # doctest: +SKIP
    """
    from matplotlib.patches import Circle

    ra, dec = _source_value(source, "ra"), _source_value(source, "dec")
    if not (np.isfinite(ra) and np.isfinite(dec)):
        raise InputError(f"source {source.get(id_column, '')!r} has no finite ra/dec")
    r1, r2 = _source_value(source, "pu_1sigma"), _source_value(source, "pu_2sigma")
    if size is None:
        size = max(SIZE_PER_RADIUS * r2, MIN_SIZE) if np.isfinite(r2) else 2 * MIN_SIZE
    stamp = make_stamp(images, ra, dec, size)
    rgb = stamp.data.ndim == 3
    ink = "white" if rgb else "black"
    mark = "#ffd400" if rgb else "#d62728"
    cand = "#00e5ff" if rgb else "#1f5fd6"

    fig, ax = new_axes(ax, figsize=(3.2, 3.4))
    if rgb:
        ax.imshow(stamp.data, origin="lower", extent=stamp.extent, interpolation="nearest")
    else:
        from astropy.visualization import ImageNormalize, LinearStretch, ZScaleInterval

        finite = stamp.data[np.isfinite(stamp.data)]
        norm = ImageNormalize(finite, interval=ZScaleInterval(), stretch=LinearStretch())
        ax.imshow(
            stamp.data,
            origin="lower",
            extent=stamp.extent,
            cmap="gray_r",
            norm=norm,
            interpolation="nearest",
        )
    scale = stamp.image.pixel_scale
    x, y = stamp.image.sky_to_pixel(np.array([ra]), np.array([dec]))
    for radius, name, style in ((r2, "pu_2sigma", "-"), (r1, "pu_1sigma", "--")):
        if np.isfinite(radius) and radius > 0:
            ax.add_patch(
                Circle(
                    (x[0], y[0]),
                    radius / scale,
                    fill=False,
                    ls=style,
                    lw=1.2,
                    color=mark,
                    gid=name,
                    label=f"{'2' if name.endswith('2sigma') else '1'}σ",
                )
            )
    if candidates is not None:
        _draw_candidates(ax, stamp, candidates, source.get(id_column), id_column, cand, halo=ink)
    _compass(ax, stamp, ra, dec, ink)
    _scale_bar(ax, stamp, size, _distance_pc(distance), ink)
    x0, x1, y0, y1 = stamp.extent
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"{source.get(id_column, '')}  ({'/'.join(stamp.bands)})", fontsize=8, loc="left")
    return fig


def _draw_candidates(
    ax: Axes,
    stamp: Stamp,
    candidates: pd.DataFrame,
    source_id: Any,
    id_column: str,
    color: str,
    halo: str,
) -> None:
    from matplotlib import patheffects

    outline = [patheffects.withStroke(linewidth=2.2, foreground=_opposite(halo))]
    missing = [c for c in ("ra", "dec", id_column) if c not in candidates.columns]
    if missing:
        raise ColumnError(
            f"the candidates table lacks {', '.join(missing)}; use the output of "
            "`xrbid counterparts`"
        )
    mine = candidates[candidates[id_column].astype(str) == str(source_id)]
    if mine.empty:
        return
    numbers = (
        mine["rank"].astype(str).to_numpy()
        if "rank" in mine.columns
        else np.arange(1, len(mine) + 1).astype(str)
    )
    cx, cy = stamp.image.sky_to_pixel(
        pd.to_numeric(mine["ra"], errors="coerce").to_numpy(float),
        pd.to_numeric(mine["dec"], errors="coerce").to_numpy(float),
    )
    ax.scatter(
        cx,
        cy,
        s=36,
        marker="o",
        facecolors="none",
        edgecolors=color,
        lw=1.0,
        gid="candidates",
        path_effects=outline,
    )
    for xv, yv, text in zip(cx, cy, numbers):
        ax.annotate(
            text,
            (xv, yv),
            xytext=(4, 4),
            textcoords="offset points",
            color=color,
            fontsize=7,
            fontweight="bold",
            gid="candidate_number",
            path_effects=outline,
        )


def _opposite(color: str) -> str:
    return "black" if color == "white" else "white"


def _safe(name: Any) -> str:
    return re.sub(r"[^A-Za-z0-9+.-]+", "_", str(name)).strip("_") or "source"


def finder_paths(path: str | os.PathLike, source_ids: Sequence[Any]) -> list[Path]:
    """Files `write_finder_charts` writes: ``path`` for a PDF, else one per source.

    ``finder.png`` with sources ``X1`` and ``X 2`` gives ``finder_X1.png`` and
    ``finder_X_2.png``.
    """
    path = Path(path)
    if figure_format(path) == "pdf":
        return [path]
    names = [_safe(s) for s in source_ids]
    if len(set(names)) != len(names):  # IDs that differ only in unsafe characters
        names = [f"{i + 1:03d}_{n}" for i, n in enumerate(names)]
    return [path.with_name(f"{path.stem}_{n}{path.suffix}") for n in names]


def _on_image(sources: pd.DataFrame, image: HSTImage) -> np.ndarray:
    x, y = image.sky_to_pixel(
        pd.to_numeric(sources["ra"], errors="coerce").to_numpy(float),
        pd.to_numeric(sources["dec"], errors="coerce").to_numpy(float),
    )
    ny, nx = image.shape
    with np.errstate(invalid="ignore"):
        return (x >= -0.5) & (x < nx - 0.5) & (y >= -0.5) & (y < ny - 0.5)


def _pages(n: int, per_page: int) -> Iterator[range]:
    for start in range(0, n, per_page):
        yield range(start, min(start + per_page, n))


def write_finder_charts(
    sources: pd.DataFrame,
    images: Mapping[str, HSTImage | str | os.PathLike] | HSTImage | str | os.PathLike,
    path: str | os.PathLike,
    candidates: pd.DataFrame | None = None,
    *,
    size: float | None = None,
    distance: float | u.Quantity | None = None,
    per_page: int = 6,
    ncols: int = 3,
    id_column: str = "source_id",
    overwrite: bool = False,
    dpi: float = 150,
) -> list[Path]:
    """Write the finder charts of every source on the image(s).

    A ``.pdf`` path gets a multi-page PDF (`matplotlib.backends.backend_pdf.PdfPages`)
    with ``per_page`` charts per page; any other figure suffix (``.png``, ``.svg``, ...)
    gets one file per source, ``<stem>_<source_id><suffix>``.

    Parameters
    ----------
    sources : pandas.DataFrame
        X-ray sources (e.g. `xrbid.selection.best_observations`): ``ra``, ``dec``,
        ``pu_2sigma`` (and ``pu_1sigma``) and ``id_column``.
    images, candidates, size, distance, id_column
        See `finder_chart`.
    path : str or path-like
        Output file (its suffix chooses the format).
    per_page, ncols : int
        Charts per PDF page and per row.
    overwrite : bool
        Replace existing files.
    dpi : float
        Resolution of raster outputs.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Warns
    -----
    XrbidWarning
        Naming the sources skipped because they are not on the image.

    Raises
    ------
    ColumnError
        If ``sources`` lacks ``ra``, ``dec``, ``pu_2sigma`` or the ID column.
    InputError
        If no source is on the image, or the suffix names no figure format.
    OutputExistsError
        If an output exists and ``overwrite`` is false (checked before anything is drawn).
    """
    from matplotlib.figure import Figure

    missing = [c for c in ("ra", "dec", "pu_2sigma", id_column) if c not in sources.columns]
    if missing:
        raise ColumnError(
            f"the source table lacks {', '.join(missing)}; give one row per source with its "
            "radii (`xrbid best` output)"
        )
    if per_page < 1 or ncols < 1:
        raise InputError("per_page and ncols must be at least 1")
    imgs = _as_images(images)
    ref = next(iter(imgs.values()))
    on = _on_image(sources, ref)
    if not on.any():
        raise InputError(
            f"none of the {len(sources)} sources is on {ref.label}; check that the image "
            "covers the X-ray sources"
        )
    if not on.all():
        skipped = sources.loc[~on, id_column].astype(str).tolist()
        warnings.warn(
            f"{len(skipped)} source(s) not on {ref.label} have no finder chart: "
            f"{', '.join(skipped[:5])}{' ...' if len(skipped) > 5 else ''}",
            XrbidWarning,
            stacklevel=2,
        )
    todo = sources[on]
    paths = finder_paths(path, todo[id_column].tolist())
    for p in paths:
        check_output(p, overwrite)
    rows = [row for _, row in todo.iterrows()]
    fmt = figure_format(path)
    # every file goes to a temporary name first and is renamed only when all are drawn
    with contextlib.ExitStack() as stack:
        tmps = [stack.enter_context(atomic_output(p, overwrite)) for p in paths]
        if fmt == "pdf":
            from matplotlib.backends.backend_pdf import PdfPages

            nrows = math.ceil(min(per_page, len(rows)) / ncols)
            with PdfPages(tmps[0]) as pdf:
                for page in _pages(len(rows), per_page):
                    fig = Figure(figsize=(3.0 * ncols, 3.1 * nrows), layout="constrained")
                    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
                    for ax, i in zip(axes, page):
                        finder_chart(
                            imgs,
                            rows[i],
                            candidates,
                            size=size,
                            distance=distance,
                            ax=ax,
                            id_column=id_column,
                        )
                    for ax in axes[len(page) :]:
                        ax.set_axis_off()
                    pdf.savefig(fig)
        else:
            for row, tmp in zip(rows, tmps):
                fig = finder_chart(
                    imgs, row, candidates, size=size, distance=distance, id_column=id_column
                )
                fig.savefig(tmp, format=fmt, dpi=dpi)
    return paths
