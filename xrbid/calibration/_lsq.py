"""Weighted least squares on the normal equations, sigma clipping and stepwise selection.

The normal equations (AᵀWA, AᵀWy, yᵀWy) are solved through a Cholesky factorisation of the
matrix scaled to unit diagonal, which also finds linearly dependent terms; partial F-tests on
them choose the stepwise terms (forward-backward), and the residuals are clipped on a robust
scale.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from astropy.stats import mad_std
from scipy import stats

from xrbid.errors import CalibrationError

from ._design import _Param
from .photometric_solution import TermFit
from .terms import TermPlan


class _Degenerate(Exception):
    def __init__(self, index: int) -> None:
        self.index = index


def _solve(g: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``g β = b`` for a symmetric positive-definite ``g``; return β and g⁻¹.

    Raises `_Degenerate` (with the index of the first dependent column) when the columns are
    linearly dependent to within 1e-10 after normalising the matrix to unit diagonal.
    """
    d = np.sqrt(np.diag(g))
    if np.any(d == 0) or not np.all(np.isfinite(d)):
        raise _Degenerate(int(np.flatnonzero(~(d > 0))[0]) if np.any(~(d > 0)) else 0)
    c = g / np.outer(d, d)
    try:
        chol = np.linalg.cholesky(c)
    except np.linalg.LinAlgError:
        raise _Degenerate(_first_dependent(c)) from None
    if np.min(np.diag(chol)) ** 2 < 1e-10:
        raise _Degenerate(_first_dependent(c))
    inv_c = np.linalg.inv(c)
    inv = inv_c / np.outer(d, d)
    return inv @ b, inv


def _first_dependent(c: np.ndarray) -> int:
    for k in range(1, c.shape[0] + 1):
        if np.linalg.eigvalsh(c[:k, :k])[0] < 1e-10:
            return k - 1
    return c.shape[0] - 1


class _Normal:
    """Weighted normal equations (AᵀWA, AᵀWy, yᵀWy) of the rows in ``mask``.

    Built from the design and target already multiplied by sqrt(weight). `of` updates a
    previous system by the rows that left or joined it when they are few (clipping moves a
    few per cent of the stars), instead of summing over every row again.
    """

    def __init__(self, g: np.ndarray, b: np.ndarray, yy: float, mask: np.ndarray) -> None:
        self.g, self.b, self.yy, self.mask = g, b, yy, mask
        self.n = int(mask.sum())

    @classmethod
    def of(
        cls, a_s: np.ndarray, y_s: np.ndarray, mask: np.ndarray, previous: _Normal | None = None
    ) -> _Normal:
        if previous is not None:
            removed, added = previous.mask & ~mask, mask & ~previous.mask
            if removed.sum() + added.sum() < mask.sum() // 4:
                r, ry, ad, ay = a_s[removed], y_s[removed], a_s[added], y_s[added]
                return cls(
                    previous.g - r.T @ r + ad.T @ ad,
                    previous.b - r.T @ ry + ad.T @ ay,
                    previous.yy - float(ry @ ry) + float(ay @ ay),
                    mask.copy(),
                )
        sub, ys = a_s[mask], y_s[mask]
        return cls(sub.T @ sub, sub.T @ ys, float(ys @ ys), mask.copy())

    def chi2(self, cols: list[int]) -> float:
        if not cols:
            return self.yy
        beta, _ = _solve(self.g[np.ix_(cols, cols)], self.b[cols])
        return max(self.yy - float(self.b[cols] @ beta), 0.0)

    def f_test(self, small: list[int], big: list[int]) -> tuple[float, float]:
        """Partial F statistic and p-value of the columns in ``big`` but not ``small``."""
        chi_small, chi_big = self.chi2(small), self.chi2(big)
        k, dof = len(big) - len(small), self.n - len(big)
        if dof <= 0:
            return math.nan, math.nan
        if chi_big <= 0:
            return math.inf, 0.0
        f = max(chi_small - chi_big, 0.0) / k / (chi_big / dof)
        return f, float(stats.f.sf(f, k, dof))


def _groups(params: list[_Param], plan: TermPlan) -> dict[str, dict[str, Any]]:
    modes = {t.name: t.mode for t in plan.terms}
    groups: dict[str, dict[str, Any]] = {}
    for j, p in enumerate(params):
        mode = "zero point" if p.term is None else modes[p.group]
        groups.setdefault(p.group, {"mode": mode, "cols": []})["cols"].append(j)
    return groups


def _cols(groups: dict[str, dict[str, Any]], names: Sequence[str]) -> list[int]:
    return [c for g in groups if g in names for c in groups[g]["cols"]]


def _names(params: list[_Param], cols: Sequence[int], limit: int = 8) -> str:
    names = [params[c].name for c in cols]
    return ", ".join(names[:limit]) + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _check_counts(
    valid: np.ndarray,
    codes: np.ndarray | None,
    params: list[_Param],
    images: list[str],
    shape_names: Sequence[str] = (),
) -> None:
    n_valid, n_par = int(valid.sum()), len(params) + len(shape_names)
    if n_valid < n_par + 1:
        names = ", ".join(p.name for p in params[:8])
        names += "".join(f", {s}" for s in shape_names)
        raise CalibrationError(
            f"{n_valid} usable stars (all needed values present) for {n_par} free parameters "
            f"({names}); need at least {n_par + 1}: add stars or drop terms"
        )
    if codes is None:
        return
    counts = np.bincount(codes[valid], minlength=len(images))
    for i, name in enumerate(images):
        per = [j for j, p in enumerate(params) if p.image == i]
        if counts[i] < len(per):
            raise CalibrationError(
                f"image {name!r} has {counts[i]} usable stars for {len(per)} per-image "
                f"parameters ({_names(params, per)}); need at least {len(per)}: drop that "
                "image or its per-image terms"
            )


def _check_base(normal: _Normal, params: list[_Param], cols: list[int]) -> None:
    try:
        _solve(normal.g[np.ix_(cols, cols)], normal.b[cols])
    except _Degenerate as exc:
        bad = params[cols[exc.index]].name
        raise CalibrationError(
            f"{bad} cannot be told apart from {_names(params, cols[: exc.index])} on these stars "
            "(a linear combination of them, e.g. airmass constant within each image with "
            "per-image zero points): drop one of them"
        ) from None


def _fit_cols(normal: _Normal, cols: list[int]) -> np.ndarray:
    g, b = normal.g[np.ix_(cols, cols)], normal.b[cols]
    try:
        return _solve(g, b)[0]
    except _Degenerate:  # only while clipping with every candidate in: minimum-norm solution
        return np.linalg.lstsq(g, b, rcond=None)[0]


def _clip(
    a_s: np.ndarray,
    y_s: np.ndarray,
    valid: np.ndarray,
    cols: list[int],
    clip: float,
    max_iter: int,
    normal: _Normal,
) -> _Normal:
    """Iterative sigma clipping of the weighted residuals on a robust (MAD) scale.

    Starts from the rows of ``normal``; every valid row is tested again at each iteration, so
    a star clipped early can come back. Returns the normal equations of the final rows.
    """
    for _ in range(max_iter):
        beta = _fit_cols(normal, cols)
        z = y_s - a_s[:, cols] @ beta
        inside = z[normal.mask]
        centre = np.median(inside)
        scale = mad_std(inside)
        if not scale > 0:
            break
        new = valid & (np.abs(z - centre) <= clip * scale)
        if new.sum() <= len(cols) or np.array_equal(new, normal.mask):
            break
        normal = _Normal.of(a_s, y_s, new, normal)
    return normal


def _stepwise(
    normal: _Normal,
    groups: dict[str, dict[str, Any]],
    base: list[str],
    candidates: list[str],
    alpha: float,
) -> list[str]:
    """Forward-backward selection of candidate groups by partial F-tests."""
    current = list(base)
    seen = {frozenset(current)}
    for _ in range(4 * len(candidates) + 4):
        changed = False
        best = None
        for g in candidates:
            if g in current:
                continue
            try:
                f, p = normal.f_test(_cols(groups, current), _cols(groups, [*current, g]))
            except _Degenerate:
                continue
            if not math.isnan(p) and (best is None or (p, -f) < (best[1], -best[0])):
                best = (f, p, g)
        if best is not None and best[1] < alpha:
            current.append(best[2])
            changed = True
        worst = None
        for g in current:
            if g not in candidates:
                continue
            rest = [c for c in current if c != g]
            f, p = normal.f_test(_cols(groups, rest), _cols(groups, current))
            if worst is None or (p, -f) > (worst[1], -worst[0]):
                worst = (f, p, g)
        if worst is not None and worst[1] > alpha:
            current.remove(worst[2])
            changed = True
        state = frozenset(current)
        if not changed or state in seen:
            break
        seen.add(state)
    return [g for g in groups if g in current]


def _report_rows(
    normal: _Normal,
    groups: dict[str, dict[str, Any]],
    params: list[_Param],
    selected: list[str],
    coef: dict[int, float],
    err: dict[int, float],
    images: list[str],
) -> list[TermFit]:
    """One `TermFit` per free or candidate coefficient, with its F-test on the final model."""
    cols = _cols(groups, selected)
    rows: list[TermFit] = []
    for gname, info in groups.items():
        idx = info["cols"]
        if gname in selected:
            status = info["mode"] if info["mode"] != "stepwise" else "kept"
            if gname == "ZP":
                f_stat = p_value = math.nan
            else:
                reduced = [c for c in cols if c not in idx]
                f_stat, p_value = normal.f_test(reduced, cols)
            values = [(coef[c], err[c]) for c in idx]
        else:
            status = "dropped"
            bigger = cols + idx
            try:
                f_stat, p_value = normal.f_test(cols, bigger)
                b2, inv2 = _solve(normal.g[np.ix_(bigger, bigger)], normal.b[bigger])
                scale = normal.chi2(bigger) / max(normal.n - len(bigger), 1)
                values = [
                    (b2[len(cols) + k], math.sqrt(inv2[len(cols) + k, len(cols) + k] * scale))
                    for k in range(len(idx))
                ]
            except _Degenerate:
                f_stat, p_value = math.nan, math.nan
                values = [(math.nan, math.nan)] * len(idx)
        for c, (v, e) in zip(idx, values):
            p = params[c]
            rows.append(
                TermFit(
                    name=p.name,
                    term="ZP" if p.term is None else p.term.name,
                    image=None if p.image is None else images[p.image],
                    status=status,
                    coefficient=float(v),
                    error=float(e),
                    f_stat=float(f_stat),
                    p_value=float(p_value),
                )
            )
    return rows
