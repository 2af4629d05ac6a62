"""Postage stamps rendered by DS9: one PNG per source with its error circles, its neighbours'
circles in a fainter style, its numbered counterpart candidates, a scale bar and a N/E compass."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import InputError
from ._checks import (
    DEFAULT_SCALE,
    check_stretch,
    format_angle,
    off_image_by,
    on_image,
    separation_arcsec,
)
from ._common import ds9_word
from .session import DS9

if TYPE_CHECKING:
    from ..photometry.image_spec import ImageSpec

__all__ = ["DECOR_COLOR", "NEIGHBOUR_COLOR", "Stamps", "postage_stamps"]

ONE_SIGMA_COLOR = "green"
TWO_SIGMA_COLOR = "magenta"
NEIGHBOUR_COLOR = "#5f5fd7"
"""Colour of the neighbouring sources' circles on a stamp (thin, dashed: fainter)."""
CANDIDATE_COLOR = "cyan"
DECOR_COLOR = "yellow"
"""Colour of the scale bar and of the N/E compass."""

_NICE_BARS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)


@dataclass
class Stamps:
    """What :func:`postage_stamps` made: the PNGs (in table order) and the sources skipped.

    Iterating over it, ``len`` and indexing go over the PNG paths.

    Attributes
    ----------
    paths : list of pathlib.Path
        One PNG per source drawn.
    skipped : pandas.DataFrame
        ``source_id`` and ``reason`` (off the image by how much, no finite position, no radius).
    bar_arcsec : float
        Length of the scale bar, arcsec.
    """

    paths: list[Path]
    skipped: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame({"source_id": [], "reason": []})
    )
    bar_arcsec: float = math.nan

    def __iter__(self) -> Iterator[Path]:
        return iter(self.paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> Path:
        return self.paths[i]


def _stamp_name(source_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+\-]+", "_", str(source_id)).strip("_") or "source"


def scale_bar_length(size: float) -> float:
    """A round scale-bar length (arcsec) of at most a quarter of the stamp width ``size``."""
    fitting = [b for b in _NICE_BARS if b <= size / 4.0]
    return fitting[-1] if fitting else size / 4.0


def postage_stamps(
    ds9: DS9,
    table: pd.DataFrame,
    image: str | os.PathLike | ImageSpec,
    out_dir: str | os.PathLike,
    *,
    size: float = 10.0,
    pixels: int = 300,
    overwrite: bool = False,
    scale: str = DEFAULT_SCALE,
    limits: tuple[float, float] | None = None,
    candidates: pd.DataFrame | None = None,
) -> Stamps:
    """Save one PNG per source, centred on it, rendered by DS9.

    Each stamp shows the source's 1σ circle (green, solid) and 2σ circle (magenta, dashed,
    labelled with its ID); the circles of other sources in view are thin, dashed and
    :data:`NEIGHBOUR_COLOR`; counterpart candidates of the source (from ``candidates``) are
    small cyan circles labelled with their ``rank``, the number of the counterparts table; a
    scale bar (bottom left, labelled in arcsec) and a N/E compass (top right) are yellow.

    Parameters
    ----------
    ds9 : DS9
        The session.
    table : pandas.DataFrame
        ``source_id``, ``ra``, ``dec`` (degrees), ``pu_1sigma``, ``pu_2sigma`` (arcsec).
    image : path or ImageSpec
        The FITS image (with a sky WCS), or one extension of it (see :meth:`DS9.open_image`).
    out_dir : path
        Folder for the PNGs (created if missing); one ``<source_id>.png`` per source, with
        characters other than letters, digits, ``.``, ``+``, ``-`` replaced by ``_``.
    size : float
        Width of each stamp on the sky, arcsec.
    pixels : int
        Width and height of each PNG's image area, screen pixels.
    overwrite : bool
        Replace stamps that exist.
    scale, limits
        The display stretch (see :meth:`DS9.stretch`).
    candidates : pandas.DataFrame, optional
        Counterpart candidates (``source_id``, ``rank``, ``ra``, ``dec``), as written by
        ``xrbid counterparts``.

    Returns
    -------
    Stamps
        The PNGs in table order, and the skipped sources with the reason.

    Raises
    ------
    InputError
        Missing columns, duplicate IDs, existing stamps without ``overwrite``, a folder name
        DS9 cannot take, or no source on the image.
    """
    from ..tables import require_columns
    from .workflows import _unique_ids

    require_columns(
        table, ["source_id", "ra", "dec", "pu_1sigma", "pu_2sigma"], what="postage stamps"
    )
    ids = _unique_ids(table)
    if not (math.isfinite(size) and size > 0):
        raise InputError(f"stamp size must be a positive angle, not {size!r} arcsec")
    check_stretch(scale, limits)
    if candidates is not None:
        require_columns(candidates, ["source_id", "rank", "ra", "dec"], what="candidates")
    out = Path(out_dir)
    ds9_word(out.resolve() / "stamp.png", "stamp folder")  # refused before DS9 is touched
    names = [_stamp_name(i) for i in ids]
    if len(set(names)) != len(names):
        raise InputError("two source IDs give the same file name; make the IDs distinct")
    paths = [out / f"{name}.png" for name in names]
    if not overwrite:
        for p in paths:
            if p.exists():
                raise InputError(
                    f"{p} exists; use --overwrite (overwrite=True in Python) to replace it"
                )

    ds9.open_image(image, frame="new")
    ds9._require_wcs("postage stamps")
    wcs, shape = ds9.image_wcs()
    table = table.reset_index(drop=True)
    reasons = _skip_reasons(table, wcs, shape)
    keep = reasons.isna().to_numpy()
    if not keep.any():
        raise InputError(
            f"none of the {len(table)} sources can have a stamp on {image} "
            f"({reasons.dropna().iloc[0]} for {ids[0]}); is it the image of this field?"
        )
    skipped = pd.DataFrame(
        {"source_id": np.asarray(ids, dtype=object)[~keep], "reason": reasons[~keep].to_numpy()}
    )
    out.mkdir(parents=True, exist_ok=True)

    from astropy.wcs.utils import proj_plane_pixel_scales

    pixel = float(np.mean(proj_plane_pixel_scales(wcs))) * 3600.0  # arcsec per image pixel
    bar = scale_bar_length(size)
    ds9.set("colorbar no")
    ds9.view_size(pixels, pixels)
    ds9.stretch(scale, limits)
    ds9.zoom(pixels / (size / pixel))
    drawn = table.loc[keep]
    made = []
    try:
        for i in np.flatnonzero(keep):
            row = table.loc[i]
            text = _stamp_regions(table, drawn, i, candidates, wcs, size, pixel, bar)
            ds9.delete_regions()
            ds9.load_regions(text)
            ds9.pan_to(row["ra"], row["dec"])
            made.append(ds9.snapshot(paths[i], overwrite=overwrite))
    finally:
        ds9.set("colorbar yes")
    return Stamps(made, skipped, bar)


def _skip_reasons(table: pd.DataFrame, wcs, shape) -> pd.Series:
    """Why each source gets no stamp (None where it gets one)."""
    ra = pd.to_numeric(table["ra"], errors="coerce").to_numpy(float)
    dec = pd.to_numeric(table["dec"], errors="coerce").to_numpy(float)
    r1 = pd.to_numeric(table["pu_1sigma"], errors="coerce").to_numpy(float)
    r2 = pd.to_numeric(table["pu_2sigma"], errors="coerce").to_numpy(float)
    reasons = pd.Series([None] * len(table), dtype=object)
    finite = np.isfinite(ra) & np.isfinite(dec) & (np.abs(dec) <= 90)
    reasons[~finite] = "no finite RA/Dec"
    no_radius = finite & ~((r1 > 0) & (r2 > 0) & np.isfinite(r1) & np.isfinite(r2))
    reasons[no_radius] = "no positive finite pu_1sigma and pu_2sigma"
    on = on_image(wcs, shape, ra, dec)
    for i in np.flatnonzero(finite & ~no_radius & ~on):  # only the few off the image
        off = off_image_by(wcs, shape, ra[i], dec[i])
        reasons[i] = f"off the image by {format_angle(off)}"
    return reasons


def _stamp_regions(
    table: pd.DataFrame,
    drawn: pd.DataFrame,
    i: int,
    candidates: pd.DataFrame | None,
    wcs,
    size: float,
    pixel: float,
    bar: float,
) -> str:
    """Region text of one stamp: the source, its neighbours in view, its candidates, and the
    scale bar and compass in image pixels around it."""
    from ..regions import format_regions

    me = table.loc[[i]]
    parts = [
        format_regions(me, radius_column="pu_1sigma", color=ONE_SIGMA_COLOR, width=2),
        format_regions(
            me,
            radius_column="pu_2sigma",
            color=TWO_SIGMA_COLOR,
            width=2,
            dash=True,
            label_column="source_id",
            on_bad_label="replace",
        ),
    ]
    others = drawn.drop(index=i, errors="ignore")
    if len(others):
        sep = separation_arcsec(others["ra"], others["dec"], me["ra"].iloc[0], me["dec"].iloc[0])
        near = others.loc[np.ravel(sep) < size * 0.75 + others["pu_2sigma"].to_numpy(float)]
        for column in ("pu_1sigma", "pu_2sigma"):
            if len(near):
                parts.append(
                    format_regions(
                        near, radius_column=column, color=NEIGHBOUR_COLOR, width=1, dash=True
                    )
                )
    if candidates is not None:
        mine = candidates.loc[candidates["source_id"].astype(str) == str(me["source_id"].iloc[0])]
        mine = mine.assign(rank_label=mine["rank"].astype(str))
        if len(mine):
            parts.append(
                format_regions(
                    mine,
                    radius=max(0.02 * size, 2 * pixel),
                    color=CANDIDATE_COLOR,
                    width=1,
                    label_column="rank_label",
                )
            )
    parts.append(_decor(wcs, float(me["ra"].iloc[0]), float(me["dec"].iloc[0]), size, pixel, bar))
    return "\n".join(parts)


def _decor(wcs, ra: float, dec: float, size: float, pixel: float, bar: float) -> str:
    """Scale bar (bottom left) and N/E compass (top right), in DS9 image pixels (1-based)."""
    x0, y0 = (float(v) + 1.0 for v in wcs.world_to_pixel_values(ra, dec))
    half = size / pixel / 2.0  # half the stamp width in image pixels
    left, bottom = x0 - 0.8 * half, y0 - 0.8 * half
    length = bar / pixel
    label = f'{bar:g}"' if bar < 60 else f"{bar / 60:g}'"
    cx, cy = x0 + 0.65 * half, y0 + 0.65 * half
    style = f'color={DECOR_COLOR} width=2 dash=0 font="helvetica 10 bold roman"'
    return "\n".join(
        [
            "image",
            f"line({left:.3f},{bottom:.3f},{left + length:.3f},{bottom:.3f}) # line=0 0 {style}",
            f"# text({left + length / 2:.3f},{bottom + 0.08 * half:.3f}) text={{{label}}} {style}",
            f"# compass({cx:.3f},{cy:.3f},{0.25 * half:.3f}) compass=fk5 {{N}} {{E}} 1 1 {style}",
        ]
    )
