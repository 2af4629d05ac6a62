"""What the alignment methods share: reading their inputs and assembling their solution."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..schema import sky_positions
from ..sky import fields_apart, match_nearest
from .solution import AlignmentSolution

MIN_PAIRS = 3
"""Fewer matches than this raise the ``few_matches`` QA flag; median clipping stops above it."""


def load(table: Any, what: str) -> pd.DataFrame:
    """A DataFrame from a DataFrame, a table file or (for positions) a DS9 region file."""
    from ..tables import read_table_or_regions

    return read_table_or_regions(table, what=what)


def ids(df: pd.DataFrame) -> np.ndarray | None:
    return df["source_id"].astype(str).to_numpy() if "source_id" in df.columns else None


def significant(shift: tuple[float, float], std: tuple[float, float]) -> bool:
    return any(
        np.isfinite(s) and np.isfinite(e) and abs(s) > e for s, e in zip(shift, std, strict=True)
    )


def build_solution(
    method: str,
    xray: pd.DataFrame,
    reference: pd.DataFrame,
    pairs: pd.DataFrame,
    *,
    qa: Callable[[int, tuple[float, float]], dict[str, bool]],
    ra0: float,
    dec0: float,
    params: dict[str, Any],
    shift: tuple[float, float] | None = None,
    steps: list[dict[str, Any]] | None = None,
    notes: list[str] | None = None,
) -> AlignmentSolution:
    """The residuals, QA flags and solution of a fit, from its candidate pairs.

    Parameters
    ----------
    method : str
        The solution's method name.
    xray, reference : DataFrame
        The tables the pairs index (``xray_row``, ``ref_row``); their ``source_id`` names
        the pairs and the unmatched X-ray sources.
    pairs : DataFrame
        One row per candidate pair: ``xray_row``, ``ref_row``, ``sep``, ``dx``, ``dy``
        (reference − X-ray on the tangent plane, arcsec), ``group``, ``weight``, ``used``.
    qa : callable
        ``qa(n_used, shift)`` gives the QA flags.
    ra0, dec0 : float
        The tangent point, degrees.
    params : dict
        The settings to record.
    shift : (float, float), optional
        The fitted shift (arcsec); default the median of the used offsets per axis (no
        shift with none used).
    steps, notes : list, optional
        Partial steps and remarks to record.

    Returns
    -------
    AlignmentSolution
        The scatter is the population standard deviation (ddof=0) of the used offsets per
        axis, NaN with none used; the shift is significant when ``|shift| > std`` on either
        axis.
    """
    xra, xdec = sky_positions(xray, "X-ray table")
    rra, rdec = sky_positions(reference, "reference table")
    xr = pairs["xray_row"].to_numpy(int)
    rr = pairs["ref_row"].to_numpy(int)
    used = pairs["used"].to_numpy(bool)
    dx = pairs["dx"].to_numpy(float)
    dy = pairs["dy"].to_numpy(float)
    n_used = int(used.sum())
    if n_used:
        std = (float(np.std(dx[used])), float(np.std(dy[used])))
        if shift is None:
            shift = (float(np.median(dx[used])), float(np.median(dy[used])))
    else:
        std = (float("nan"), float("nan"))
        if shift is None:
            shift = (0.0, 0.0)
    xid, rid = ids(xray), ids(reference)
    out_pairs = pd.DataFrame(
        {
            "xray_row": xr,
            "xray_id": xid[xr] if xid is not None else None,
            "ref_row": rr,
            "ref_id": rid[rr] if rid is not None else None,
            "xray_ra": xra[xr],
            "xray_dec": xdec[xr],
            "ref_ra": rra[rr],
            "ref_dec": rdec[rr],
            "sep": pairs["sep"].to_numpy(float),
            "dx": dx,
            "dy": dy,
            "group": pairs["group"].to_numpy(int),
            "weight": pairs["weight"].to_numpy(float),
            "used": used,
        }
    )
    matched = np.zeros(len(xray), dtype=bool)
    matched[xr] = True
    unmatched_rows = np.flatnonzero(~matched)
    unmatched = (
        [str(v) for v in xid[unmatched_rows]] if xid is not None else unmatched_rows.tolist()
    )
    return AlignmentSolution(
        method=method,
        shift_x=shift[0],
        shift_y=shift[1],
        std_x=std[0],
        std_y=std[1],
        n_used=n_used,
        significant=significant(shift, std),
        ra0=float(ra0),
        dec0=float(dec0),
        pairs=out_pairs,
        unmatched=unmatched,
        flags=qa(n_used, shift),
        params=params,
        steps=list(steps or []),
        notes=list(notes or []),
    )


def no_pairs_message(
    xra: np.ndarray,
    xdec: np.ndarray,
    ora: np.ndarray,
    odec: np.ndarray,
    sep_limit: float,
    what: str = "X-ray source",
    other: str = "optical table",
) -> str:
    """Why nothing matched: the nearest pair found, and where the two tables lie."""
    idx, sep = match_nearest(xra, xdec, ora, odec)
    row = int(np.nanargmin(sep))
    _, text = fields_apart(xra, xdec, ora, odec, "the X-ray table", f"the {other}")
    nearest = float(sep[row])
    hint = (
        f"the tables do not cover the same field: {text}"
        if nearest > max(60.0, 30.0 * sep_limit)
        else f"raise --max-sep (max_sep) if that is the right match; {text}"
    )
    return (
        f"no {what} has a source of the {other} within {sep_limit:g} arcsec, so there is "
        f"nothing to fit; the nearest pair is {nearest:.2f} arcsec apart ({what} row "
        f"{row}, {other} row {int(idx[row])}): {hint}"
    )
