"""Fitting the non-linear values of a calibration model by variable projection.

Most terms of a photometric model enter linearly (a coefficient times a column); a few have a
value that enters non-linearly: the band position ``v`` of ``XC``/``SC`` and the shape
``RO``, ``RC`` of the non-linearity term (`xrbid.calibration.special_terms`). For fixed
non-linear values θ the model is linear, so the fit minimises over θ alone the χ² left by the
linear least-squares fit at θ (variable projection; Golub & Pereyra 1973, SIAM J. Numer.
Anal. 10, 413). The covariance of all parameters together is the inverse of JᵀWJ at the
optimum, J holding the design columns and the derivatives of the model with respect to θ,
scaled by the reduced χ² as for the linear fit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import least_squares

__all__ = ["Build", "full_covariance", "profile_chi2", "profile_fit"]

Build = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
"""θ → (design, target): the linear design columns and the target (observed minus the parts
of the model that are not fitted linearly), each over every row, not yet weighted."""


SEPARABILITY_LIMIT = 1e-10
"""Smallest eigenvalue of the unit-diagonal JᵀWJ below which the parameters count as
degenerate: the covariance would then exceed the variance of one parameter alone by 10¹⁰."""


def _weighted(build: Build, theta: np.ndarray, sw: np.ndarray, rows: np.ndarray):
    design, target = build(theta)
    return design[rows] * sw[rows, None], target[rows] * sw[rows]


def _linear_solution(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    if a.shape[1] == 0:
        return np.zeros(0)
    return np.linalg.lstsq(a, y, rcond=None)[0]


def profile_chi2(build: Build, theta: np.ndarray, sw: np.ndarray, rows: np.ndarray) -> float:
    """χ² of the linear fit at ``theta`` over ``rows`` (weights ``sw²``)."""
    a, y = _weighted(build, np.asarray(theta, float), sw, rows)
    r = y - a @ _linear_solution(a, y)
    return float(r @ r)


def profile_fit(
    build: Build,
    theta0: np.ndarray,
    sw: np.ndarray,
    rows: np.ndarray,
    *,
    bounds: tuple[np.ndarray, np.ndarray] | None = None,
    target: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Minimise the χ² of the linear fit over the non-linear values θ.

    Parameters
    ----------
    build : callable
        θ → (design (n, p), target (n,)), unweighted, over all n rows.
    theta0 : numpy.ndarray
        Starting values (k,).
    sw : numpy.ndarray
        Square roots of the weights (n,).
    rows : numpy.ndarray of bool
        Rows in the fit (n,).
    bounds : (lower, upper), optional
        Bounds on θ.
    target : callable, optional
        θ → target (n,), when the design does not depend on θ: the design is then taken
        once from ``build(theta0)`` and factorised once (QR), and each evaluation costs a
        projection instead of a least-squares solve.

    Returns
    -------
    theta : numpy.ndarray
        The values at the minimum (k,).
    beta : numpy.ndarray
        The linear coefficients at the minimum (p,).
    chi2 : float
        The χ² there.

    Examples
    --------
    >>> x = np.linspace(0, 1, 50)
    >>> def build(th):  # y = b * exp(-th * x): b linear, th not
    ...     return np.exp(-th[0] * x)[:, None], 2.0 * np.exp(-3.0 * x)
    >>> th, b, chi2 = profile_fit(build, np.array([1.0]), np.ones(50), np.ones(50, bool))
    >>> round(float(th[0]), 6), round(float(b[0]), 6)
    (3.0, 2.0)
    """
    theta0 = np.asarray(theta0, dtype=float)
    if target is not None:
        a0, _ = _weighted(build, theta0, sw, rows)
        q = np.linalg.qr(a0)[0] if a0.shape[1] else np.zeros((a0.shape[0], 0))
        w_rows = sw[rows]

        def residuals(theta: np.ndarray) -> np.ndarray:
            y = target(theta)[rows] * w_rows
            return y - q @ (q.T @ y)

    else:

        def residuals(theta: np.ndarray) -> np.ndarray:
            a, y = _weighted(build, theta, sw, rows)
            return y - a @ _linear_solution(a, y)

    if theta0.size:
        lo, hi = bounds if bounds is not None else (-np.inf, np.inf)
        fit = least_squares(residuals, theta0, bounds=(lo, hi), x_scale="jac", method="trf")
        theta = fit.x
    else:
        theta = theta0
    a, y = _weighted(build, theta, sw, rows)
    beta = _linear_solution(a, y)
    r = y - a @ beta
    return theta, beta, float(r @ r)


def full_covariance(
    build: Build,
    theta: np.ndarray,
    beta: np.ndarray,
    sw: np.ndarray,
    rows: np.ndarray,
) -> tuple[np.ndarray, float, int]:
    """Covariance of (β, θ) at the optimum, scaled by the reduced χ².

    The Jacobian of the model is the design (for β) and the central-difference derivative of
    ``design @ β − target`` with respect to each θ (the part of the model outside the design
    is the difference between the observed value and ``target``).

    Parameters
    ----------
    build, sw, rows : see `profile_fit`
    theta, beta : numpy.ndarray
        The optimum.

    Returns
    -------
    covariance : numpy.ndarray
        (p + k, p + k), β first.
    chi2_red : float
        χ² / (n − p − k).
    dof : int
        n − p − k.

    Raises
    ------
    numpy.linalg.LinAlgError
        If the parameters cannot be told apart on these rows (a singular JᵀWJ).
    """
    theta = np.asarray(theta, float)
    a, y = _weighted(build, theta, sw, rows)
    cols = [a]
    for k in range(theta.size):
        h = 1e-6 * max(1.0, abs(theta[k]))
        up, down = theta.copy(), theta.copy()
        up[k] += h
        down[k] -= h
        a_up, y_up = _weighted(build, up, sw, rows)
        a_dn, y_dn = _weighted(build, down, sw, rows)
        model_up, model_dn = a_up @ beta - y_up, a_dn @ beta - y_dn
        cols.append(((model_up - model_dn) / (2 * h))[:, None])
    jac = np.hstack(cols)
    r = y - a @ beta
    dof = int(rows.sum()) - jac.shape[1]
    chi2_red = float(r @ r) / dof if dof > 0 else np.nan
    g = jac.T @ jac
    d = np.sqrt(np.diag(g))
    if np.any(d == 0):
        raise np.linalg.LinAlgError("a parameter has no effect on the model")
    corr = g / np.outer(d, d)
    # Scaled to unit diagonal, the smallest eigenvalue says how well the data separate the
    # parameters: near 0, two combinations predict the same magnitudes (e.g. RS·RO against the
    # zero point on stars without curvature) and the "fit" returns huge, meaningless values.
    if np.linalg.eigvalsh(corr)[0] < SEPARABILITY_LIMIT:
        raise np.linalg.LinAlgError("the parameters are (nearly) degenerate on these rows")
    inv = np.linalg.inv(corr) / np.outer(d, d)
    return inv * chi2_red, chi2_red, dof
