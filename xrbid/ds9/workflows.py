"""Workflows on a DS9 session: calibrator selection, before/after blinking, postage stamps."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from ..errors import DS9Error, InputError
from ._checks import DEFAULT_SCALE, check_sky, check_stretch, on_image
from ._common import CALIBRATOR_TAG
from .session import DS9

if TYPE_CHECKING:
    from ..photometry.image_spec import ImageSpec

__all__ = [
    "CANDIDATE_COLOR",
    "KEEP_COLOR",
    "blink_before_after",
    "draw_calibrators",
    "picked_calibrators",
    "step_through",
]

CANDIDATE_COLOR = "cyan"
KEEP_COLOR = "red"
Mark = Literal["color", "selected", "delete"]
BlinkMode = Literal["blink", "tile", "single"]
BLINK_MODES = ("blink", "tile", "single")


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
    wcs, shape = ds9.image_wcs()
    return on_image(wcs, shape, table["ra"].to_numpy(float), table["dec"].to_numpy(float))


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
    image: str | os.PathLike | ImageSpec,
    before: str | os.PathLike | pd.DataFrame,
    after: str | os.PathLike | pd.DataFrame,
    *,
    interval: float = 0.5,
    crosshair: tuple[float, float] | None = None,
    mode: BlinkMode = "blink",
    scale: str = DEFAULT_SCALE,
    limits: tuple[float, float] | None = None,
) -> tuple[int, int]:
    """Show ``image`` twice, with the positions before and after a correction.

    Two frames hold the same image, one with the ``before`` regions and one with the ``after``
    regions; they are matched and locked on WCS (crosshair included), so that the two sets of
    positions are compared over a fixed sky. The first frame is the current one when it shows
    no image (as in a DS9 just started).

    Parameters
    ----------
    image : path or ImageSpec
        The FITS image (with a sky WCS), or one extension of it (see :meth:`DS9.open_image`).
    mode : {"blink", "tile", "single"}
        ``blink``: DS9 flips between the frames every ``interval`` seconds (stop with
        ``ds9.blink(False)``); ``tile``: side by side; ``single``: one frame shown, the user
        flips with Frame > Next (Tab).
    scale, limits
        The display stretch of both frames (see :meth:`DS9.stretch`).

    Returns
    -------
    (int, int)
        The frame numbers of the before and the after frame.

    Raises
    ------
    InputError
        Unknown mode or stretch, or a non-positive interval (before DS9 is touched).
    """
    if mode not in BLINK_MODES:
        raise InputError(f"mode must be one of {', '.join(BLINK_MODES)}, not {mode!r}")
    if not (isinstance(interval, int | float) and math.isfinite(interval) and interval > 0):
        raise InputError(f"blink interval must be a positive number of seconds, not {interval!r}")
    check_stretch(scale, limits)
    if crosshair is not None:
        crosshair = check_sky(*crosshair)
    ds9.blink(False)
    ds9.tile(False)
    first = ds9.open_image(image, frame="new")
    ds9.stretch(scale, limits)
    ds9.load_regions(before)
    second = ds9.open_image(image, frame="new")
    ds9.stretch(scale, limits)
    ds9.load_regions(after)
    ds9.match_frames("wcs")
    if crosshair is not None:
        ds9.crosshair(*crosshair)
    if mode == "blink":
        ds9.blink(interval)
    elif mode == "tile":
        ds9.tile("column")
    else:
        ds9.frame(first)
    return first, second
