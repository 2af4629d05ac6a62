"""The design matrix of the photometric calibration: columns, variables, monomials.

Finds the columns a fit needs (exact names, else by snake_case key), computes the raw
variables of the terms (position, airmass, colours, magnitude), normalises positions, and
builds one design column per free parameter (global or per image).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from xrbid.errors import CalibrationError, ColumnError
from xrbid.schema import numeric_column as _numeric

from .special_terms import rational, subpixel, universal_colour
from .terms import Term, TermPlan

_COLOURS = "CDEF"
COLOUR_CONVENTIONS = ("dophot3", "index")
_NULL = 0.0  # the value of a non-linear term (XC, SC, RO, RC) that is left out of the model


def _resolve_column(df: pd.DataFrame, name: str | None) -> str | None:
    """Find ``name`` in ``df``: exactly, else by snake_case key (``B-V`` matches ``b_v``)."""
    if name is None or name in df.columns:
        return name
    key = re.sub(r"[^0-9a-z]+", "_", str(name).lower()).strip("_")
    for col in df.columns:
        if re.sub(r"[^0-9a-z]+", "_", str(col).lower()).strip("_") == key:
            return str(col)
    return None


def _require(df: pd.DataFrame, name: str | None, why: str, source: str = "table") -> str:
    col = _resolve_column(df, name)
    if col is None:
        have = ", ".join(map(str, df.columns[:20]))
        raise ColumnError(f"{source} has no column {name!r}, needed for {why}; columns: {have}")
    return col


@dataclass
class _Param:
    """One free parameter: a column of the design matrix."""

    name: str
    term: Term | None  # None: zero point
    image: int | None  # image code, None for global
    group: str  # parameters of one group enter and leave the model together

    def column(
        self,
        xy: dict[str, np.ndarray],
        codes: np.ndarray | None,
        n: int,
        cache: dict | None = None,
        shape: dict[str, float] | None = None,
    ) -> np.ndarray:
        values = np.ones(n) if self.term is None else _term_column(self.term, xy, n, shape, cache)

        if self.image is None:
            return values
        with np.errstate(invalid="ignore"):
            return np.where(codes == self.image, values, 0.0) + np.where(codes < 0, np.nan, 0.0)


def _variables(
    df: pd.DataFrame,
    needed: set[str],
    columns: dict[str, str | None],
    filters: Sequence[str],
    plan: TermPlan,
    *,
    ref: str | None = None,
    convention: str = "dophot3",
) -> dict[str, np.ndarray]:
    """Raw variables (before position normalisation) for the terms of ``plan``.

    Colours follow ``convention``: ``"dophot3"`` (C = filter 2 - filter 1, ...) or ``"index"``
    (C = filter 1 - filter 2). ``XC``/``SC`` get the magnitude steps around the reference
    filter ``ref`` (``dm``, ``d0``, ``dp``: each "next filter minus this one").
    """
    out: dict[str, np.ndarray] = {}

    def users(var: str) -> str:
        names = [t.name for t in plan.terms if var in t.term.variables]
        return ", ".join(names)

    universal = [t.name for t in plan.terms if t.term.special in ("XC", "SC")]
    if universal:
        names = list(filters)
        p = names.index(ref) if ref in names else -1
        if p < 1 or p + 2 >= len(names):
            where = f"is filter {p + 1} of {len(names)}" if p >= 0 else "is not among them"
            raise CalibrationError(
                f"{', '.join(universal)} interpolate between the catalogue filters around the "
                f"standard filter, which needs one filter bluewards and two redwards of it in "
                f"--filters; the standard magnitude {ref!r} {where} "
                f"({', '.join(names) or 'none given'}): give e.g. --filters B,{ref},R,I"
            )
        why = f"the universal colour term {', '.join(universal)}"
        mags = [_numeric(df, _require(df, names[k], why)) for k in range(p - 1, p + 3)]
        out["dm"], out["d0"], out["dp"] = (mags[k + 1] - mags[k] for k in range(3))

    if needed & {"X", "Y", "R"}:
        why = f"the spatial terms ({users('X') or users('Y') or users('R')})"
        out["x"] = _numeric(df, _require(df, columns["x"], why))
        out["y"] = _numeric(df, _require(df, columns["y"], why))
    if needed & {"A", "B"}:
        why = f"the airmass terms ({users('A') or users('B')})"
        out["A"] = _numeric(df, _require(df, columns["airmass"], why))
    if "B" in needed:
        img = columns.get("image")
        if img is not None and img in df.columns:
            out["B"] = (
                out["A"]
                - pd.Series(out["A"]).groupby(df[img].to_numpy()).transform("mean").to_numpy()
            )
        else:
            out["B"] = out["A"] - np.nanmean(out["A"])
    for i, var in enumerate(_COLOURS):
        if var not in needed:
            continue
        if len(filters) < i + 2:
            raise CalibrationError(
                f"term {users(var)} uses colour {var} (filters {i + 1} and {i + 2}), but "
                f"{len(filters)} filter(s) were given ({', '.join(filters) or 'none'}); give at "
                f"least {i + 2} catalogue magnitude columns, bluest first (e.g. --filters B,V)"
            )
        why = f"colour {var} of term {users(var)}"
        a = _numeric(df, _require(df, filters[i], why))
        b = _numeric(df, _require(df, filters[i + 1], why))
        out[var] = a - b if convention == "index" else b - a
    if "N" in needed:
        out["N"] = _numeric(df, _require(df, columns["mag"], f"term {users('N')}"))
    return out


def _normalised(
    raw: dict[str, np.ndarray], center: tuple[float, float], scale: float
) -> dict[str, np.ndarray]:
    xy = {k: v for k, v in raw.items() if k not in ("x", "y")}
    if "x" in raw:
        xy["X"] = (raw["x"] - center[0]) / scale
        xy["Y"] = (raw["y"] - center[1]) / scale
        xy["R"] = np.hypot(xy["X"], xy["Y"])
        xy["px"], xy["py"] = raw["x"], raw["y"]  # pixel coordinates, for the sub-pixel terms
    return xy


def _term_column(
    term: Term,
    xy: dict[str, np.ndarray],
    n: int,
    shape: dict[str, float] | None = None,
    cache: dict | None = None,
) -> np.ndarray:
    """The design column of a term: a monomial, a sub-pixel phase, or the RS rational term."""
    if not term.special:
        return _monomial(term, xy, n, cache)
    if term.special == "SX":
        return subpixel(x=xy["px"])
    if term.special == "SY":
        return subpixel(y=xy["py"])
    if term.special == "SXY":
        return subpixel(x=xy["px"], y=xy["py"])
    if term.special == "RS":
        shape = shape or {}
        return rational(xy["N"], shape["n0"], shape.get("RO", _NULL), shape.get("RC", _NULL))
    raise ValueError(f"{term.name} is a non-linear value, not a design column")


def _model_offset(
    plan: TermPlan, xy: dict[str, np.ndarray], n: int, shape: dict[str, float]
) -> np.ndarray:
    """The part of the model outside the design: fixed terms and the XC/SC contributions."""
    offset = np.zeros(n)
    for t in plan.terms:
        special = t.term.special
        if special in ("XC", "SC"):
            value = shape.get(special, _NULL)
            if value != _NULL:
                offset += universal_colour(
                    value, xy["dm"], xy["d0"], xy["dp"], smooth=special == "SC"
                )
        elif t.mode == "fixed" and special not in ("RO", "RC"):
            offset += t.value * _term_column(t.term, xy, n, shape)
    return offset


def _monomial(
    term: Term, xy: dict[str, np.ndarray], n: int, cache: dict | None = None
) -> np.ndarray:
    cache = {} if cache is None else cache
    out = None
    for var, exp in term.powers:
        key = (var, exp)
        if key not in cache:
            cache[key] = xy[var] if exp == 1 else xy[var] * _power(xy, var, exp - 1, cache)
        out = cache[key] if out is None else out * cache[key]
    return np.ones(n) if out is None else out


def _power(xy: dict[str, np.ndarray], var: str, exp: int, cache: dict) -> np.ndarray:
    return _monomial(Term(((var, exp),)), xy, 0, cache)


def _image_codes(df: pd.DataFrame, col: str | None, images: list[str]) -> np.ndarray | None:
    if not images:
        return None
    if col is None or col not in df.columns:
        raise ColumnError(f"table has no image column {col!r}, needed for per-image terms")
    lookup = {name: i for i, name in enumerate(images)}
    codes = df[col].astype(str).map(lookup).fillna(-1).astype(int).to_numpy()
    return np.where(df[col].isna().to_numpy(), -1, codes)


def _build_design(
    params: list[_Param],
    xy: dict[str, np.ndarray],
    codes: np.ndarray | None,
    valid: np.ndarray,
    shape: dict[str, float] | None = None,
) -> np.ndarray:
    n = valid.size
    design = np.empty((n, len(params)))
    cache: dict = {}
    for j, p in enumerate(params):
        design[:, j] = p.column(xy, codes, n, cache, shape)

    design[~valid] = 0.0
    return design
