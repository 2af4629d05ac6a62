"""Robust translation solvers of the WLS alignment, and the settings of one fit.

The fit minimises the robust cost sum rho(w d^2) of `scipy.optimize.least_squares` (d the
distance between a reference and a shifted X-ray position) within bounds on each axis. Two
ways to reach the same bounded minimum: `scipy.optimize.least_squares` itself, one stack at
a time (the CSC 2.1 specification), and a majorise-minimise iteration over all stacks at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..sky import to_arcsec

SOLVERS = ("least_squares", "mm")
"""The solvers a fit can use."""

_LOSS_DERIVATIVES = {
    # rho'(z) of scipy.optimize.least_squares' loss functions, z = f**2 / f_scale**2
    "linear": lambda z: np.ones_like(z),
    "soft_l1": lambda z: 1.0 / np.sqrt(1.0 + z),
    "huber": lambda z: np.where(z <= 1.0, 1.0, 1.0 / np.sqrt(np.maximum(z, 1.0))),
    "cauchy": lambda z: 1.0 / (1.0 + z),
    "arctan": lambda z: 1.0 / (1.0 + z**2),
}


def solve_mm(
    code: np.ndarray,
    n: int,
    ox: np.ndarray,
    oy: np.ndarray,
    w: np.ndarray,
    loss: str,
    f_scale: float,
    bound: float,
    tol: float = 1e-10,
    max_iter: int = 1000,
) -> tuple[np.ndarray, np.ndarray]:
    """Minimise sum rho(w d^2) per group, d = |offset - shift|, for all groups at once.

    Majorise-minimise (iteratively reweighted least squares): every loss of
    `least_squares` is concave in z = f^2, so each step — the weighted mean of the offsets
    with weights w·rho'(z), clipped to the bounds — does not increase the objective; its fixed
    points are the bounded stationary points `least_squares` looks for. Started, as in the
    specification, from no shift.
    """
    drho = _LOSS_DERIVATIVES[loss]
    sx = np.zeros(n)
    sy = np.zeros(n)
    active = np.ones(n, dtype=bool)
    for _ in range(max_iter):
        rx = ox - sx[code]
        ry = oy - sy[code]
        z = w * (rx * rx + ry * ry) / f_scale**2
        u = w * drho(z)
        su = np.bincount(code, u, minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            nx = np.clip(np.bincount(code, u * ox, minlength=n) / su, -bound, bound)
            ny = np.clip(np.bincount(code, u * oy, minlength=n) / su, -bound, bound)
        nx = np.where(su > 0, nx, 0.0)
        ny = np.where(su > 0, ny, 0.0)
        step = np.maximum(np.abs(nx - sx), np.abs(ny - sy))
        sx, sy = nx, ny
        active = step > tol
        if not active.any():
            break
    return sx, sy


def solve_least_squares(
    ox: np.ndarray, oy: np.ndarray, w: np.ndarray, loss: str, f_scale: float, bound: float
) -> tuple[float, float]:
    """One translation with `scipy.optimize.least_squares`, as the specification calls it."""
    from scipy.optimize import least_squares

    sw = np.sqrt(w)

    def residuals(p: np.ndarray) -> np.ndarray:
        return sw * np.hypot(ox - p[0], oy - p[1])

    def jacobian(p: np.ndarray) -> np.ndarray:
        rx, ry = p[0] - ox, p[1] - oy
        d = np.hypot(rx, ry)
        d = np.where(d > 0, d, 1.0)  # the distance has no gradient at 0; any unit vector
        return np.column_stack([sw * rx / d, sw * ry / d])

    res = least_squares(
        residuals,
        x0=np.zeros(2),
        jac=jacobian,
        loss=loss,
        f_scale=f_scale,
        bounds=(-bound, bound),
        xtol=1e-12,
        ftol=1e-12,
        gtol=1e-12,
    )
    return float(res.x[0]), float(res.x[1])


@dataclass(frozen=True)
class WLSOptions:
    """The checked settings of one WLS fit, in fixed units.

    Attributes
    ----------
    loss : str
        A `scipy.optimize.least_squares` loss (``"cauchy"`` in the specification).
    f_scale : float
        Soft margin of the loss between inlier and outlier residuals.
    bound : float
        Largest shift allowed on each axis, arcsec.
    max_sep : float
        Match radius, arcsec (never beyond the last group edge).
    group_edges : tuple of float
        Upper edges of the separation groups, arcsec.
    min_matches : int
        Matches a group needs to be chosen on its scatter.
    solver : {"least_squares", "mm"}
        How the fit is solved.
    """

    loss: str = "cauchy"
    f_scale: float = 1.0
    bound: float = 5.0
    max_sep: float = 3.0
    group_edges: tuple[float, ...] = (1.0, 2.0, 3.0)
    min_matches: int = 3
    solver: str = "least_squares"

    @classmethod
    def from_user(
        cls,
        *,
        loss: str,
        f_scale: float,
        bounds: Any,
        max_sep: Any,
        group_edges: tuple[float, ...],
        min_matches: int,
        solver: str,
    ) -> WLSOptions:
        """Check user values (angles as float arcsec, str or Quantity) and build the options.

        Raises
        ------
        InputError
            If the loss or solver is not known, or ``bounds`` or ``f_scale`` is not positive.
        """
        if loss not in _LOSS_DERIVATIVES:
            raise InputError(f"loss={loss!r} is not known; use one of {sorted(_LOSS_DERIVATIVES)}")
        bound = to_arcsec(bounds, what="bounds")
        if not (bound > 0 and np.isfinite(bound)):
            raise InputError(
                f"--bounds must be a finite positive angle (the largest shift, e.g. 5arcsec), "
                f"got {bounds!r}"
            )
        if not (f_scale > 0 and np.isfinite(f_scale)):
            raise InputError(f"f_scale must be a finite positive number, got {f_scale!r}")
        if not to_arcsec(max_sep, what="max_sep") > 0:
            raise InputError(f"max_sep must be a positive angle, got {max_sep!r}")
        if solver not in SOLVERS:
            raise InputError(f"solver={solver!r} is not known; use 'least_squares' or 'mm'")
        edges = tuple(float(e) for e in group_edges)
        return cls(
            loss=loss,
            f_scale=f_scale,
            bound=bound,
            max_sep=min(to_arcsec(max_sep, what="max_sep"), edges[-1]),
            group_edges=edges,
            min_matches=min_matches,
            solver=solver,
        )

    @property
    def edges(self) -> np.ndarray:
        """The group edges as an array (arcsec)."""
        return np.asarray(self.group_edges, dtype=float)


def solve_single(
    ox: np.ndarray, oy: np.ndarray, ww: np.ndarray, options: WLSOptions
) -> tuple[float, float]:
    """The shift of one stack's offsets (arcsec) with the configured solver."""
    if options.solver == "least_squares":
        return solve_least_squares(ox, oy, ww, options.loss, options.f_scale, options.bound)
    zeros = np.zeros(len(ox), dtype=np.intp)
    sx, sy = solve_mm(zeros, 1, ox, oy, ww, options.loss, options.f_scale, options.bound)
    return float(sx[0]), float(sy[0])
