"""The QA flags of a WLS alignment (CSC 2.1 fine-astrometry specification §5.7).

Each threshold is named once here; the descriptions in `QA_FLAGS` (shown in the solution and
the documentation) are built from these names.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._common import MIN_PAIRS

__all__ = [
    "QA_BRIGHT_COUNTS",
    "QA_CENTRAL_THETA",
    "QA_FEW_MATCHES_SHIFT",
    "QA_FLAGS",
    "QA_MAX_DENSITY",
    "QA_MAX_SHIFT",
    "qa_flags",
]

QA_FEW_MATCHES_SHIFT = 0.5
"""arcsec: with fewer than `MIN_PAIRS` matches, a total shift above this raises QA."""
QA_MAX_SHIFT = 1.0
"""arcsec: a total shift above this raises QA."""
QA_MAX_DENSITY = 100.0
"""Reference sources per arcmin² above which QA is raised."""
QA_CENTRAL_THETA = 5.0
"""arcmin: with few matches, QA is raised unless a matched field has a source this central."""
QA_BRIGHT_COUNTS = 15.0
"""counts: with few matches, QA is raised unless a source has more counts than this."""

QA_FLAGS = {
    "no_matches": "no reference source within the match radius of any X-ray source",
    "few_matches": f"fewer than {MIN_PAIRS} matches (WLS: and no source at theta < "
    f"{QA_CENTRAL_THETA:g}', or none with more than {QA_BRIGHT_COUNTS:g} counts, or a total "
    f'shift > {QA_FEW_MATCHES_SHIFT:g}")',
    "shift_large": f'total shift larger than {QA_MAX_SHIFT:g}"',
    "density_high": f"more than {QA_MAX_DENSITY:g} reference sources per square arcmin",
}
"""The QA flags a solution can carry, with what each means."""


def qa_flags(
    xray: pd.DataFrame,
    x_code: np.ndarray,
    *,
    n_match: np.ndarray,
    n_used: np.ndarray,
    total_shift: np.ndarray,
    density: np.ndarray,
) -> dict[str, np.ndarray]:
    """The QA triggers of CSC 2.1 spec §5.7, vectorised over stacks.

    Parameters
    ----------
    xray : DataFrame
        The X-ray detections (``theta`` in arcmin and ``counts`` are looked at).
    x_code : ndarray of int
        Stack index (0..n-1) of each X-ray row.
    n_match, n_used, total_shift, density : ndarray, shape (n,)
        Per stack: X-ray sources matched in the chosen group, pairs used, the total shift
        (arcsec) and the reference density (per arcmin²).

    Returns
    -------
    dict of str to ndarray of bool
        One entry per flag of `QA_FLAGS`.
    """
    n = len(n_match)
    has_central = _any_per_stack(xray, "theta", x_code, n, lambda v: v < QA_CENTRAL_THETA)
    has_bright = _any_per_stack(xray, "counts", x_code, n, lambda v: v > QA_BRIGHT_COUNTS)
    no_matches = n_used == 0
    few = (n_match < MIN_PAIRS) & (
        ~has_central | ~has_bright | (total_shift > QA_FEW_MATCHES_SHIFT)
    )
    return {
        "no_matches": no_matches,
        "few_matches": few | no_matches,
        "shift_large": total_shift > QA_MAX_SHIFT,
        "density_high": density > QA_MAX_DENSITY,
    }


def _any_per_stack(
    xray: pd.DataFrame, column: str, code: np.ndarray, n: int, test: Any
) -> np.ndarray:
    """Per stack: whether any row passes ``test`` on ``column``.

    NaN values never pass. An absent column gives False everywhere: the QA condition "there
    is no such source" cannot be shown false, so the conservative outcome (flag) is kept.
    """
    if column not in xray.columns:
        return np.zeros(n, dtype=bool)
    v = pd.to_numeric(xray[column], errors="coerce").to_numpy(float)
    ok = test(v) & np.isfinite(v)
    return np.bincount(code, ok.astype(float), minlength=n) > 0
