"""Bayesian association probabilities of the optical candidates of each X-ray source.

Positional evidence is the Bayes factor of Budavari & Szalay (2008, ApJ 679, 301; two
catalogues, small angles): for a separation psi and circular Gaussian errors of per-axis
sigmas s_x (X-ray) and s_o (optical), with s^2 = s_x^2 + s_o^2 in radians,

    B = (2 / s^2) exp(-psi^2 / (2 s^2)).

Divided by 4 pi rho (rho: density of unrelated optical sources per steradian) it is the
likelihood ratio of "this source is the counterpart" against "this source is a field source",
``LR = exp(-psi^2 / 2 s^2) / (2 pi s^2 rho)`` in any consistent unit.

The hypotheses of one X-ray source with candidates i = 1..n are those of the p_any / p_i
formalism described by Salvato et al. (2018, MNRAS 473, 4937):
H_i "candidate i is the counterpart, the others are field sources" with prior weight
c LR_i w_i, and H_0 "no candidate is the counterpart" with weight 1 - c F, where c is the
expected fraction of X-ray sources with a detectable optical counterpart, F the fraction of a
counterpart's offset distribution inside the search radius, and w_i an optional magnitude
weight (the ratio of the counterparts' to the field's magnitude distribution). Then

    p_i = c LR_i w_i / (1 - c F + c sum_j LR_j w_j),    p_any = sum_i p_i.

X-ray radii: ``pu_1sigma`` is the radius enclosing 68 % of the position probability
(Kim et al. 2007), i.e. 1.515 times the per-axis sigma of a circular Gaussian.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from xrbid.errors import ColumnError, InputError

__all__ = [
    "R68_PER_SIGMA",
    "association_probabilities",
    "estimate_magnitude_weight",
    "likelihood_ratio",
]

R68_PER_SIGMA = float(np.sqrt(-2.0 * np.log(1.0 - 0.68)))  # 68 % radius / per-axis sigma


def likelihood_ratio(separation: Any, sigma: Any, density: Any) -> np.ndarray:
    """Positional likelihood ratio counterpart / field source.

    Parameters
    ----------
    separation : array_like
        Optical-X-ray separation (arcsec).
    sigma : array_like
        Combined per-axis positional sigma (arcsec), ``sqrt(s_x^2 + s_o^2)``.
    density : array_like
        Surface density of unrelated optical sources (arcsec^-2).

    Returns
    -------
    numpy.ndarray
        ``exp(-r^2 / 2 sigma^2) / (2 pi sigma^2 rho)``, the Budavari & Szalay (2008) Bayes
        factor divided by the chance of a field source at that position.
    """
    r = np.asarray(separation, float)
    s2 = np.asarray(sigma, float) ** 2
    rho = np.asarray(density, float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.exp(-0.5 * r**2 / s2) / (2.0 * np.pi * s2 * rho)


def _column_or_value(df: pd.DataFrame, value: Any, what: str) -> np.ndarray:
    if isinstance(value, str):
        if value not in df.columns:
            raise ColumnError(f"the candidates table lacks {value!r} ({what})")
        return pd.to_numeric(df[value], errors="coerce").to_numpy(float)
    return np.broadcast_to(np.asarray(value, float), (len(df),)).astype(float)


def association_probabilities(
    candidates: pd.DataFrame,
    *,
    density: str | float = "density",
    completeness: float = 0.5,
    r68_column: str = "pu_1sigma",
    optical_sigma: str | float = 0.0,
    separation_column: str = "separation",
    search_radius_column: str | None = "pu_2sigma",
    magnitude_weight: Callable[[np.ndarray], np.ndarray] | None = None,
    mag_column: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """p_i of every candidate and p_any of every X-ray source.

    Parameters
    ----------
    candidates : pandas.DataFrame
        One row per (X-ray source, optical candidate), as from `xrbid.selection.find_counterparts`:
        ``source_id``, ``separation`` (arcsec), ``pu_1sigma`` (arcsec) and the density.
    density : str or float
        Column (e.g. ``density`` from `candidate_chance` / `local_density`) or one value:
        surface density of unrelated optical sources (arcsec^-2).
    completeness : float
        Prior: expected fraction of X-ray sources whose counterpart is in the optical
        catalogue, 0 < c < 1.
    r68_column : str
        X-ray 68 % radius (arcsec); per-axis sigma = radius / 1.515.
    optical_sigma : str or float
        Per-axis optical position error (arcsec): a column or one value.
    separation_column : str
        Separation (arcsec).
    search_radius_column : str or None
        Radius inside which candidates were selected (arcsec); ``None`` for no limit.
    magnitude_weight : callable, optional
        ``w(mag)``: ratio of the counterparts' to the field sources' magnitude distribution
        (both normalised); needs ``mag_column``. Rows with no magnitude get w = 1.
    mag_column : str, optional
        Magnitude column for ``magnitude_weight``.

    Returns
    -------
    candidates : pandas.DataFrame
        A copy with ``lr`` (likelihood ratio), ``p_i`` and ``best`` (True for the most
        probable candidate of its source).
    sources : pandas.DataFrame
        One row per source: ``source_id``, ``n_candidates``, ``p_any``, ``best_candidate``
        (row label of the best candidate in the returned candidates table), ``best_p_i``.

    Raises
    ------
    ColumnError
        Missing columns.
    InputError
        ``completeness`` outside (0, 1), a density <= 0, or a magnitude weight without a
        magnitude column.

    Examples
    --------
    >>> c = pd.DataFrame({"source_id": ["X", "X"], "separation": [0.0, 1.0],
    ...                   "pu_1sigma": [R68_PER_SIGMA] * 2})
    >>> cands, srcs = association_probabilities(c, density=0.1, completeness=0.5,
    ...                                         search_radius_column=None)
    >>> [round(p, 4) for p in cands["p_i"]], round(float(srcs["p_any"][0]), 4)
    ([0.4475, 0.2714], 0.7189)
    """
    if not 0.0 < completeness < 1.0:
        raise InputError(f"completeness must be between 0 and 1 (exclusive), got {completeness}")
    for col in ("source_id", separation_column, r68_column):
        if col not in candidates.columns:
            raise ColumnError(f"the candidates table lacks {col!r}; run `xrbid counterparts` first")
    out = candidates.copy()
    sep = _column_or_value(out, separation_column, "separation, arcsec")
    sigma_x = _column_or_value(out, r68_column, "X-ray 68% radius, arcsec") / R68_PER_SIGMA
    sigma_o = _column_or_value(out, optical_sigma, "optical position error, arcsec")
    sigma = np.hypot(sigma_x, np.nan_to_num(sigma_o))
    rho = _column_or_value(out, density, "density of optical sources, arcsec^-2")
    if np.any(rho <= 0):
        raise InputError(
            "a density of optical sources is 0 or negative; the field density must be > 0 "
            "(an empty annulus gives no estimate: use a larger annulus or a fixed density)"
        )
    lr = likelihood_ratio(sep, sigma, rho)
    if magnitude_weight is not None:
        if mag_column is None:
            raise InputError("a magnitude weight needs mag_column")
        mag = _column_or_value(out, mag_column, "magnitude")
        w = np.ones(len(out))
        good = np.isfinite(mag)
        w[good] = np.asarray(magnitude_weight(mag[good]), float)
        lr = lr * w
    # a candidate without a density or a position has no LR: its source gets NaN probabilities
    if search_radius_column is None:
        inside = np.ones(len(out))
    else:
        radius = _column_or_value(out, search_radius_column, "search radius, arcsec")
        inside = -np.expm1(-0.5 * radius**2 / sigma**2)
        inside = np.where(np.isfinite(inside), inside, 1.0)

    codes, uniques = pd.factorize(out["source_id"], sort=False)
    n_src = len(uniques)
    sum_lr = np.bincount(codes, weights=lr, minlength=n_src)
    # F of a source: the same radius and sigma for all its candidates up to the optical error;
    # take the mean over its candidates
    f_src = np.bincount(codes, weights=inside, minlength=n_src) / np.bincount(
        codes, minlength=n_src
    )
    denom = 1.0 - completeness * f_src + completeness * sum_lr
    p_i = completeness * lr / denom[codes]
    out["lr"] = lr
    out["p_i"] = p_i

    order = np.lexsort((-p_i, codes))
    first = np.r_[True, codes[order][1:] != codes[order][:-1]]
    best_pos = order[first]
    best = np.zeros(len(out), bool)
    best[best_pos] = p_i[best_pos] > 0
    out["best"] = best
    labels = out.index.to_numpy()
    best_of = np.empty(n_src, dtype=object)
    flagged = best[best_pos]
    best_of[codes[best_pos][flagged]] = labels[best_pos][flagged]
    best_p = np.zeros(n_src)
    best_p[codes[best_pos]] = p_i[best_pos]
    sources = pd.DataFrame(
        {
            "source_id": uniques,
            "n_candidates": np.bincount(codes, minlength=n_src),
            "p_any": completeness * sum_lr / denom,
            "best_candidate": best_of,
            "best_p_i": best_p,
        }
    )
    return out, sources


def estimate_magnitude_weight(
    candidate_mags: Any,
    field_mags: Any,
    background: float,
    *,
    bins: Any = None,
) -> Callable[[np.ndarray], np.ndarray]:
    """The magnitude weight w(m) = q(m) / n(m) estimated from the data.

    n(m) is the magnitude distribution of all optical sources (``field_mags``); q(m), that
    of the true counterparts, is the histogram of the candidates inside the search circles
    minus the field sources expected there, ``background * n(m)`` (the background-subtracted
    estimate of Ciliegi et al. 2003, A&A 398, 901, and Brusa et al. 2007, ApJS 172, 353, as
    used for the magnitude priors described by Salvato et al. 2018). Both distributions get
    half a count per bin before normalising, so that no bin has a weight of exactly zero.

    Parameters
    ----------
    candidate_mags : array_like
        Magnitudes of all candidates (all sources, inside their search circles).
    field_mags : array_like
        Magnitudes of all optical sources of the field.
    background : float
        Expected number of unrelated optical sources inside all search circles,
        ``sum(pi r^2 rho)`` over *every* X-ray source searched, including those without
        candidates (leaving those out underestimates it and flattens the weight).
    bins : int or array_like, optional
        Histogram bins (default: 0.25 mag over the range of the magnitudes).

    Returns
    -------
    callable
        ``w(mag) -> numpy.ndarray``; magnitudes outside the bins get w = 1.

    Raises
    ------
    InputError
        No finite magnitudes, or a negative background.
    """
    field = np.asarray(field_mags, float)
    field = field[np.isfinite(field)]
    mag = np.asarray(candidate_mags, float)
    mag = mag[np.isfinite(mag)]
    if field.size == 0 or mag.size == 0:
        raise InputError("no finite magnitudes to estimate the magnitude weight from")
    if not background >= 0:
        raise InputError(f"the expected background must be >= 0, got {background}")
    if bins is None:
        lo = float(min(field.min(), mag.min()))
        hi = float(max(field.max(), mag.max()))
        bins = np.arange(np.floor(lo * 4) / 4, hi + 0.25, 0.25)
    edges = np.histogram_bin_edges(field, bins=bins)
    n_hist = np.histogram(field, edges)[0].astype(float)
    in_hist = np.histogram(mag, edges)[0].astype(float)
    q_hist = np.clip(in_hist - background * n_hist / n_hist.sum(), 0.0, None)
    q_pdf = (q_hist + 0.5) / (q_hist.sum() + 0.5 * q_hist.size)
    n_pdf = (n_hist + 0.5) / (n_hist.sum() + 0.5 * n_hist.size)
    ratio = q_pdf / n_pdf

    def weight(m: np.ndarray) -> np.ndarray:
        m = np.asarray(m, float)
        k = np.searchsorted(edges, m, side="right") - 1
        inside = (k >= 0) & (k < ratio.size)
        return np.where(inside, ratio[np.clip(k, 0, ratio.size - 1)], 1.0)

    return weight
