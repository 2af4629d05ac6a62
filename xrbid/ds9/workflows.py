"""Workflows on a DS9 session: calibrator selection, before/after blinking, postage stamps."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import DS9Error, InputError
from ._common import CALIBRATOR_TAG, ds9_word
from .session import DS9

__all__ = [
    "CANDIDATE_COLOR",
    "KEEP_COLOR",
    "blink_before_after",
    "draw_calibrators",
    "picked_calibrators",
    "postage_stamps",
    "step_through",
]

CANDIDATE_COLOR = "cyan"
KEEP_COLOR = "red"
Mark = Literal["color", "selected", "delete"]


def draw_calibrators(
    ds9: DS9,
    candidates: pd.DataFrame,
    *,
    radius: float = 2.0,
    color: str = CANDIDATE_COLOR,
) -> pd.DataFrame:
    """Draw the candidate calibrators that fall on the image as labelled circles tagged
    :data:`CALIBRATOR_TAG`.

    Parameters
    ----------
    ds9 : DS9
        The session (an image with a sky WCS in the current frame).
    candidates : pandas.DataFrame
        One row per source: ``source_id``, ``ra``, ``dec`` (degrees).
    radius : float
        Circle radius in arcsec.
    color : str
        Colour of the candidates (a kept calibrator is recoloured by the user).

    Returns
    -------
    pandas.DataFrame
        The candidates on the image (the ones drawn), in table order.

    Raises
    ------
    InputError
        No candidate falls on the image.
    """
    _unique_ids(candidates)
    ds9._require_wcs("drawing calibrators")
    on_image = candidates.loc[_on_image(ds9, candidates)].reset_index(drop=True)
    if len(on_image) == 0:
        raise InputError(
            f"none of the {len(candidates)} candidates falls on the image in DS9 "
            f"({ds9.image_file()}); is it the image of this field?"
        )
    ds9.load_regions(
        on_image,
        radius=radius,
        label_column="source_id",
        color=color,
        width=2,
        tag=CALIBRATOR_TAG,
        on_bad_label="replace",
    )
    return on_image


def _on_image(ds9: DS9, table: pd.DataFrame) -> np.ndarray:
    """Which rows of ``table`` fall on the image of the current frame."""
    wcs, shape = _frame_wcs(ds9)
    x, y = wcs.world_to_pixel_values(table["ra"].to_numpy(float), table["dec"].to_numpy(float))
    return (x > -0.5) & (x < shape[1] - 0.5) & (y > -0.5) & (y < shape[0] - 0.5)


def step_through(
    ds9: DS9, candidates: pd.DataFrame, *, zoom: float | None = 4.0
) -> Iterator[tuple[int, pd.Series]]:
    """Visit each candidate in turn: pan to it, zoom, put the crosshair on it.

    A generator: it moves DS9 to the next candidate each time it is advanced, so the caller
    can wait for the user in between. The crosshair mode is left at the end, so that clicks
    select regions again.

    Yields
    ------
    (int, pandas.Series)
        The position in the table and the row.
    """
    try:
        for i, (_, row) in enumerate(candidates.iterrows()):
            ds9.pan_to(row["ra"], row["dec"])
            if zoom is not None:
                ds9.zoom(zoom)
            ds9.crosshair(row["ra"], row["dec"])
            yield i, row
    finally:
        try:
            ds9.edit_mode()
        except DS9Error:
            pass


def picked_calibrators(
    ds9: DS9,
    candidates: pd.DataFrame,
    *,
    mark: Mark = "color",
    keep_color: str = KEEP_COLOR,
) -> pd.DataFrame:
    """The candidate calibrators the user kept, read back from DS9's regions.

    Parameters
    ----------
    ds9 : DS9
        The session whose current frame holds the regions of :func:`draw_calibrators`.
    candidates : pandas.DataFrame
        The table that was drawn (``source_id``, ``ra``, ``dec``).
    mark : {"color", "selected", "delete"}
        How the user marked them: recoloured to ``keep_color`` (Region > Color), selected
        (click, shift-click), or the others deleted.
    keep_color : str
        The colour that means "keep" with ``mark="color"``.

    Returns
    -------
    pandas.DataFrame
        The kept rows of ``candidates`` in table order, with ``ds9_ra``/``ds9_dec``: where the
        region is now (the user may have moved it onto the optical source).

    Raises
    ------
    InputError
        Unknown ``mark``.
    DS9Error
        None of the candidate regions is left in DS9 (another image or frame is shown).
    """
    from ..regions import escape_label

    if mark not in ("color", "selected", "delete"):
        raise InputError(f"mark must be color, selected or delete, not {mark!r}")
    ids = _unique_ids(candidates)
    drawn = ds9.selected_regions() if mark == "selected" else ds9.regions()
    if mark != "selected":
        everything = drawn
    else:
        everything = ds9.regions()
    tagged = _tagged(everything)
    if mark != "delete" and len(tagged) == 0:
        raise DS9Error(
            f"no candidate calibrators (tag {CALIBRATOR_TAG}) are drawn in DS9 frame "
            f"{ds9.current_frame()}; draw them first (xrbid ds9 calibrators without --collect)"
        )
    regions = _tagged(drawn)
    if mark == "color":
        colors = regions["color"].fillna("").astype(str).str.lower()
        regions = regions.loc[colors.to_numpy() == keep_color.lower()]
    escaped = pd.Series(ids).map(escape_label)
    lookup = dict(zip(escaped, ids))
    labels = regions["label"].fillna("").astype(str)
    regions = regions.loc[labels.isin(lookup).to_numpy()]
    kept = pd.DataFrame(
        {
            "source_id": regions["label"].astype(str).map(lookup).to_numpy(),
            "ds9_ra": regions["ra"].to_numpy(dtype=float),
            "ds9_dec": regions["dec"].to_numpy(dtype=float),
        }
    ).drop_duplicates("source_id")
    out = candidates.merge(kept, on="source_id", how="inner")
    return out.reset_index(drop=True)


def _tagged(regions: pd.DataFrame) -> pd.DataFrame:
    if len(regions) == 0 or "tag" not in regions.columns:
        return regions.iloc[0:0]
    tags = regions["tag"].fillna("").astype(str)
    return regions.loc[tags.str.contains(CALIBRATOR_TAG, regex=False).to_numpy()]


def _unique_ids(candidates: pd.DataFrame) -> list[str]:
    from ..tables import require_columns

    require_columns(candidates, ["source_id", "ra", "dec"], what="calibrator candidates")
    ids = candidates["source_id"].astype(str)
    if ids.duplicated().any():
        dup = ids[ids.duplicated()].iloc[0]
        raise InputError(
            f"source {dup!r} appears more than once; keep one row per source first "
            "(xrbid csc unique)"
        )
    return ids.tolist()


def blink_before_after(
    ds9: DS9,
    image: str | os.PathLike,
    before: str | os.PathLike | pd.DataFrame,
    after: str | os.PathLike | pd.DataFrame,
    *,
    interval: float = 0.5,
    crosshair: tuple[float, float] | None = None,
) -> tuple[int, int]:
    """Show ``image`` twice, with the positions before and after a correction, and blink.

    Two new frames hold the same image, one with the ``before`` regions and one with the
    ``after`` regions; they are matched and locked on WCS (crosshair included), so DS9 flips
    between the two sets of positions over a fixed sky.

    Returns
    -------
    (int, int)
        The frame numbers of the before and the after frame.
    """
    first = ds9.open_image(image, frame="new")
    ds9.load_regions(before)
    second = ds9.open_image(image, frame="new")
    ds9.load_regions(after)
    ds9.match_frames("wcs")
    if crosshair is not None:
        ds9.crosshair(*crosshair)
    ds9.blink(interval)
    return first, second


def _stamp_name(source_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+\-]+", "_", str(source_id)).strip("_") or "source"


def postage_stamps(
    ds9: DS9,
    table: pd.DataFrame,
    image: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    size: float = 10.0,
    pixels: int = 300,
    overwrite: bool = False,
) -> list[Path]:
    """Save one PNG per source, centred on it, with its 1σ and 2σ circles, rendered by DS9.

    Parameters
    ----------
    ds9 : DS9
        The session.
    table : pandas.DataFrame
        ``source_id``, ``ra``, ``dec``, ``pu_1sigma``, ``pu_2sigma`` (arcsec).
    image : path
        The FITS image (with a sky WCS).
    out_dir : path
        Folder for the PNGs (created if missing); one ``<source_id>.png`` per source, with
        characters other than letters, digits, ``.``, ``+``, ``-`` replaced by ``_``.
    size : float
        Width of each stamp on the sky, arcsec.
    pixels : int
        Width and height of each PNG's image area, screen pixels.
    overwrite : bool
        Replace stamps that exist.

    Returns
    -------
    list of pathlib.Path
        The PNGs, in table order; sources that fall off the image get none.

    Raises
    ------
    InputError
        Missing columns, duplicate IDs, existing stamps without ``overwrite``, or no source
        on the image.
    """
    from astropy.wcs.utils import proj_plane_pixel_scales

    from ..regions import format_regions
    from ..tables import require_columns

    require_columns(
        table, ["source_id", "ra", "dec", "pu_1sigma", "pu_2sigma"], what="postage stamps"
    )
    ids = _unique_ids(table)
    if not size > 0:
        raise InputError(f"stamp size must be positive, not {size!r}")
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
    out.mkdir(parents=True, exist_ok=True)
    one = format_regions(table, radius_column="pu_1sigma", color="green", width=2)
    two = format_regions(
        table,
        radius_column="pu_2sigma",
        color="magenta",
        width=2,
        dash=True,
        label_column="source_id",
        on_bad_label="replace",
    )
    ds9.open_image(image, frame="new")
    ds9._require_wcs("postage stamps")
    wcs, _ = _frame_wcs(ds9)
    inside = _on_image(ds9, table)
    if not inside.any():
        raise InputError(
            f"none of the {len(table)} sources falls on {image}; is it the image of this field?"
        )
    table = table.loc[inside].reset_index(drop=True)
    paths = [p for p, keep in zip(paths, inside) if keep]
    scale = float(np.mean(proj_plane_pixel_scales(wcs))) * 3600.0
    ds9.set("colorbar no")
    ds9.view_size(pixels, pixels)
    ds9.scale(limits=99.5)
    ds9.load_regions(one)
    ds9.load_regions(two)
    ds9.zoom(pixels / (size / scale))
    for path, (_, row) in zip(paths, table.iterrows()):
        ds9.pan_to(row["ra"], row["dec"])
        ds9.snapshot(path, overwrite=overwrite)
    ds9.set("colorbar yes")
    return paths


def _frame_wcs(ds9: DS9):
    """The celestial WCS and the (rows, columns) shape of the image in the current frame, from
    the header DS9 shows."""
    from astropy.io import fits
    from astropy.wcs import WCS

    header = fits.Header.fromstring(ds9.get("fits header"), sep="\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. non-standard keywords of old HST headers
        wcs = WCS(header).celestial
    shape = (int(ds9.get("fits height")), int(ds9.get("fits width")))
    return wcs, shape
