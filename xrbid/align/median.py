"""The XRBID alignment: median offset of X-ray calibrators from their nearest optical sources."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..schema import sky_positions
from ..sky import centroid, match_nearest, tangent_plane, to_arcsec
from ._common import MIN_PAIRS, build_solution, load, no_pairs_message
from .solution import AlignmentSolution

__all__ = ["align_median"]


def align_median(
    xray: Any,
    optical: Any,
    *,
    max_sep: Any = "2arcsec",
    clip: float | None = None,
    max_iter: int = 10,
    ref_point: tuple[float, float] | None = None,
) -> AlignmentSolution:
    """Median offset of X-ray calibrators from their nearest optical sources.

    Each calibrator is matched to its nearest optical source within ``max_sep`` (KD-tree on
    unit vectors); the shift is the median of the offsets (optical − X-ray) per axis on the
    tangent plane, the scatter their population standard deviation (``ddof=0``, as in the
    XRBID guide), and the shift is significant when ``|median| > std`` on either axis.

    Parameters
    ----------
    xray : DataFrame or path
        The calibrators, canonical schema (``ra``, ``dec`` in degrees; ``source_id`` to name
        them).
    optical : DataFrame or path
        Optical sources: a table with ``ra``/``dec`` or a DS9 region file (fk5/icrs).
    max_sep : float, str or Quantity
        Largest calibrator–optical separation accepted (float = arcsec). Default 2".
    clip : float, optional
        Iterative n-σ clipping: drop pairs whose offset is more than ``clip`` standard
        deviations from the median on either axis, recompute, repeat until nothing changes
        (at most ``max_iter`` times; never below 3 pairs).
    max_iter : int
        Most clipping iterations.
    ref_point : (float, float), optional
        Tangent point (RA, Dec) in degrees; default the centroid of the calibrators.

    Returns
    -------
    AlignmentSolution
        ``method="median"``; unmatched calibrators in ``unmatched``; flags ``no_matches``
        and ``few_matches`` (fewer than 3 pairs used).

    Examples
    --------
    >>> import pandas as pd
    >>> xray = pd.DataFrame({"ra": [210.80, 210.81, 210.82], "dec": [54.35, 54.36, 54.34]})
    >>> opt = xray.assign(dec=xray["dec"] + 0.3 / 3600)
    >>> sol = align_median(xray, opt)
    >>> round(sol.shift_y, 6), sol.n_used
    (0.3, 3)
    """
    xray = load(xray, "X-ray calibrator table")
    optical = load(optical, "optical table")
    xra, xdec = sky_positions(xray, "X-ray calibrator table")
    ora, odec = sky_positions(optical, "optical table")
    if len(xray) == 0:
        raise InputError("the X-ray calibrator table is empty; select the calibrators first")
    if len(optical) == 0:
        raise InputError("the optical table is empty; nothing to match the calibrators to")
    sep_limit = to_arcsec(max_sep, what="max_sep")
    if not sep_limit > 0:
        raise InputError(f"max_sep must be positive, got {max_sep!r}")
    if clip is not None and not clip > 0:
        raise InputError(f"clip must be a positive number of sigma, got {clip!r}")

    idx, sep = match_nearest(xra, xdec, ora, odec, max_sep=sep_limit)
    if not (idx >= 0).any():
        raise InputError(no_pairs_message(xra, xdec, ora, odec, sep_limit, "calibrator"))
    ra0, dec0 = ref_point if ref_point is not None else centroid(xra, xdec)
    rows = np.flatnonzero(idx >= 0)
    j = idx[rows]
    xi_x, eta_x = tangent_plane(xra[rows], xdec[rows], ra0, dec0)
    xi_o, eta_o = tangent_plane(ora[j], odec[j], ra0, dec0)
    dx, dy = xi_o - xi_x, eta_o - eta_x
    notes: list[str] = []
    shared = pd.Series(j).duplicated(keep=False).to_numpy()
    if shared.any():
        notes.append(
            f"{int(shared.sum())} calibrators share an optical source (rows "
            f"{', '.join(map(str, rows[shared].tolist()))}); check they are distinct sources"
        )

    used = np.ones(len(rows), dtype=bool)
    if clip is not None and len(rows) > MIN_PAIRS:
        for _ in range(max_iter):
            mx, my = np.median(dx[used]), np.median(dy[used])
            sx, sy = np.std(dx[used]), np.std(dy[used])
            keep = (np.abs(dx - mx) <= clip * sx) & (np.abs(dy - my) <= clip * sy)
            if keep.sum() < MIN_PAIRS or np.array_equal(keep, used):
                break
            used = keep
        n_clipped = int((~used).sum())
        if n_clipped:
            notes.append(f"{n_clipped} pair(s) rejected by {clip:g}-sigma clipping")
    pairs = pd.DataFrame(
        {
            "xray_row": rows,
            "ref_row": j,
            "sep": sep[rows],
            "dx": dx,
            "dy": dy,
            "group": 0,
            "weight": 1.0,
            "used": used,
        }
    )
    return build_solution(
        "median",
        xray,
        optical,
        pairs,
        qa=lambda n_used, _shift: {"no_matches": n_used == 0, "few_matches": n_used < MIN_PAIRS},
        ra0=ra0,
        dec0=dec0,
        params={"max_sep": sep_limit, "clip": clip, "n_calibrators": len(xray)},
        notes=notes,
    )
