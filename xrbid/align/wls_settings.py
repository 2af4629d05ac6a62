"""The settings of a WLS alignment: its fit options, its input selection, values it refuses.

`align_wls` and `align_wls_stacks` take the same fit keywords and input-selection keywords;
these helpers turn them into a checked `WLSOptions` and an `InputSelection` in one place.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ._solvers import WLSOptions
from .inputs import InputSelection, select_xray

__all__ = ["check_wls_values", "fit_options", "xray_selection"]

_FIT_KEYWORDS = ("loss", "f_scale", "bounds", "max_sep", "group_edges", "min_matches", "solver")


_SELECTION_KEYWORDS = (
    "max_theta",
    "exclude_saturated",
    "exclude_convex_hull",
    "likelihood_classes",
)


def fit_options(arguments: dict[str, Any]) -> WLSOptions:
    """The checked `WLSOptions` of the fit keywords among a function's ``arguments``.

    Parameters
    ----------
    arguments : dict
        The caller's keyword values (its ``locals()``); ``loss``, ``f_scale``, ``bounds``,
        ``max_sep``, ``group_edges``, ``min_matches`` and ``solver`` are read.

    Raises
    ------
    InputError
        See `WLSOptions.from_user`.
    """
    return WLSOptions.from_user(**{k: arguments[k] for k in _FIT_KEYWORDS})


def xray_selection(xray: pd.DataFrame, arguments: dict[str, Any]) -> InputSelection:
    """The input selection of §5.1/§5.5.1 of the X-ray detections, as ``arguments`` set it.

    Parameters
    ----------
    xray : DataFrame
        The X-ray detections.
    arguments : dict
        The caller's keyword values (its ``locals()``); ``max_theta``, ``exclude_saturated``,
        ``exclude_convex_hull`` and ``likelihood_classes`` are read (see `select_xray`).
    """
    return select_xray(xray, **{k: arguments[k] for k in _SELECTION_KEYWORDS})


def check_wls_values(
    *, pm_limit: float | None, density: Any, ref_point: tuple[float, float] | None
) -> None:
    """Refuse values no sky or catalogue can have (each message names the valid range).

    Raises
    ------
    InputError
        A negative or NaN proper-motion limit, a negative, NaN or infinite density, or a
        tangent point off the sky (RA outside 0..360 deg, Dec outside -90..+90 deg).
    """
    if pm_limit is not None and not float(pm_limit) >= 0:
        raise InputError(
            f"--pm-limit (pm_limit) is {pm_limit:g} mas/yr; a proper-motion limit must be "
            ">= 0 mas/yr (None keeps every reference source)"
        )
    if density is not None:
        d = np.asarray(density, dtype=float)
        if not (np.all(np.isfinite(d)) and np.all(d >= 0)):
            bad = d[~(np.isfinite(d) & (d >= 0))].ravel()[0]
            raise InputError(
                f"--density is {bad:g} per arcmin^2; it must be a finite number >= 0 (or None "
                "to count it from the reference catalogue)"
            )
    if ref_point is not None:
        ra, dec = (float(v) for v in ref_point)
        if not (0 <= ra < 360 and -90 <= dec <= 90):
            raise InputError(
                f"--ref-point (ref_point) {ra:g},{dec:g} is off the sky: RA must be "
                "0 <= RA < 360 deg and Dec -90..+90 deg"
            )
