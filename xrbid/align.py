"""Astrometric alignment of X-ray positions to an optical or reference frame.

Two methods, one result type:

* `align_median` — the XRBID method: each X-ray calibrator is matched to its nearest optical
  source; the shift is the median offset (optical − X-ray) per axis and its scatter the
  population standard deviation of the offsets.
* `align_wls` / `align_wls_stacks` — the translation-only weighted least-squares fit of the
  CSC 2.1 fine-astrometry specification (separation groups, error-ellipse weights, Cauchy loss,
  bounded shifts, proper-motion cut, optional two-step fit through an intermediate catalogue,
  QA flags).

Offsets are always measured on the tangent plane about a reference point, in arcsec:
Δξ ≈ ΔRA·cos δ (east) and Δη ≈ ΔDec (north); raw RA differences are never used (see
``docs/alignment.md``). `apply_shift` applies a solution's shift on that same plane.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._io import atomic_output, write_text_atomic
from .errors import ColumnError, InputError
from .sky import (
    centroid,
    from_tangent_plane,
    match_nearest,
    match_within,
    separation_arcsec,
    tangent_plane,
    to_arcsec,
)

__all__ = [
    "QA_FLAGS",
    "AlignmentSolution",
    "align_median",
    "align_wls",
    "align_wls_stacks",
    "apply_shift",
]

FORMAT = "xrbid-alignment/1"

FIELD_LIMIT_ARCSEC = 3600.0
"""`apply_shift` warns about rows farther than this from the solution's tangent point."""

QA_FLAGS = {
    "no_matches": "no reference source within the match radius of any X-ray source",
    "few_matches": "fewer than 3 matches (WLS: and no source at theta < 5', or none with more "
    'than 15 counts, or a total shift > 0.5")',
    "shift_large": 'total shift larger than 1"',
    "density_high": "more than 100 reference sources per square arcmin",
}
"""The QA flags a solution can carry, with what each means."""

PAIR_COLUMNS = [
    "xray_row",
    "xray_id",
    "ref_row",
    "ref_id",
    "xray_ra",
    "xray_dec",
    "ref_ra",
    "ref_dec",
    "sep",
    "dx",
    "dy",
    "group",
    "weight",
    "used",
]


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, float | np.floating) and not math.isfinite(float(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _none_to_nan(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _empty_pairs() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in PAIR_COLUMNS})


@dataclass
class AlignmentSolution:
    """The result of an alignment: a translation on the tangent plane and its scatter.

    All offsets are in arcsec on the tangent plane about (``ra0``, ``dec0``): x is Δξ
    (east, ΔRA·cos δ), y is Δη (north, ΔDec). The shift is reference (optical) minus X-ray:
    add it to X-ray positions to bring them onto the reference frame (`apply_shift`).

    Attributes
    ----------
    method : str
        ``"median"``, ``"wls"`` or ``"wls-two-step"``.
    shift_x, shift_y : float
        The shift in arcsec.
    std_x, std_y : float
        Population standard deviation (ddof=0) of the offsets of the pairs used, per axis,
        in arcsec (NaN with no pairs). This is σ_astro for the positional uncertainties.
    n_used : int
        Number of pairs the shift was computed from.
    significant : bool
        Whether ``|shift| > std`` on either axis (the XRBID criterion for applying it).
    ra0, dec0 : float
        The tangent point, in degrees.
    pairs : pandas.DataFrame
        One row per candidate pair: ``xray_row``/``ref_row`` (0-based row numbers in the
        inputs), ``xray_id``/``ref_id`` (``source_id`` values when present), positions,
        ``sep`` (arcsec), ``dx``/``dy`` (reference − X-ray, arcsec), ``group`` (WLS
        separation group, 0 for the median method), ``weight``, ``used``.
    unmatched : list
        X-ray sources without a reference source within the match radius (``source_id``
        when present, else the row number).
    flags : dict of str to bool
        QA flags (see `QA_FLAGS`).
    params : dict
        The settings the solution was computed with.
    steps : list of dict
        For a two-step solution, the two partial translations.
    notes : list of str
        Remarks a user should read (shared counterparts, excluded rows, ...).
    """

    method: str
    shift_x: float
    shift_y: float
    std_x: float
    std_y: float
    n_used: int
    significant: bool
    ra0: float
    dec0: float
    pairs: pd.DataFrame = field(default_factory=_empty_pairs)
    unmatched: list = field(default_factory=list)
    flags: dict[str, bool] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def shift(self) -> tuple[float, float]:
        """(Δξ, Δη) shift in arcsec, reference − X-ray."""
        return (self.shift_x, self.shift_y)

    @property
    def std(self) -> tuple[float, float]:
        """(σx, σy) in arcsec."""
        return (self.std_x, self.std_y)

    @property
    def astro_std(self) -> tuple[float, float]:
        """(σx, σy) in arcsec: the alignment scatter the positional uncertainties use."""
        return (self.std_x, self.std_y)

    @property
    def total_shift(self) -> float:
        """Length of the shift in arcsec."""
        return float(math.hypot(self.shift_x, self.shift_y))

    @property
    def qa_required(self) -> bool:
        """Whether any QA flag is set."""
        return any(self.flags.values())

    @property
    def n_matched(self) -> int:
        """Number of candidate pairs found (used or not)."""
        return len(self.pairs)

    def summary(self) -> str:
        """One line for people: the shift, the scatter, the number used and the flags."""
        text = (
            f'{self.method}: shift dx={self.shift_x:+.4f}" dy={self.shift_y:+.4f}" '
            f'std=({self.std_x:.4f}", {self.std_y:.4f}") from {self.n_used} pairs; '
            + ("significant" if self.significant else "not significant")
        )
        raised = [k for k, v in self.flags.items() if v]
        if raised:
            text += "; QA: " + ", ".join(raised)
        return text

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``std_x``/``std_y`` (arcsec) are top-level keys.

        Non-finite numbers become ``None``.
        """
        pairs = self.pairs.reindex(columns=PAIR_COLUMNS)
        records = [
            {k: _nan_to_none(v) for k, v in row.items()}
            for row in pairs.astype(object).to_dict(orient="records")
        ]
        return {
            "format": FORMAT,
            "method": self.method,
            "units": "arcsec (shift, std, dx, dy, sep); deg (ra, dec)",
            "shift_x": _nan_to_none(self.shift_x),
            "shift_y": _nan_to_none(self.shift_y),
            "std_x": _nan_to_none(self.std_x),
            "std_y": _nan_to_none(self.std_y),
            "total_shift": _nan_to_none(self.total_shift),
            "n_used": int(self.n_used),
            "n_matched": int(self.n_matched),
            "significant": bool(self.significant),
            "qa_required": bool(self.qa_required),
            "ra0": _nan_to_none(self.ra0),
            "dec0": _nan_to_none(self.dec0),
            "flags": {k: bool(v) for k, v in self.flags.items()},
            "unmatched": [_nan_to_none(v) for v in self.unmatched],
            "params": {k: _nan_to_none(v) for k, v in self.params.items()},
            "steps": [{k: _nan_to_none(v) for k, v in s.items()} for s in self.steps],
            "notes": list(self.notes),
            "pairs": records,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AlignmentSolution:
        """Rebuild a solution from `to_dict` output.

        Raises
        ------
        InputError
            If ``data`` is not an alignment solution.
        """
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InputError(
                "not an xrbid alignment solution (no 'format': "
                f"'{FORMAT}'); write one with `xrbid align median` or `xrbid align wls`"
            )
        try:
            pairs = pd.DataFrame.from_records(data.get("pairs", []), columns=PAIR_COLUMNS)
            for col in ("xray_ra", "xray_dec", "ref_ra", "ref_dec", "sep", "dx", "dy", "weight"):
                pairs[col] = pd.to_numeric(pairs[col], errors="coerce").astype(float)
            if len(pairs):
                pairs["used"] = pairs["used"].astype(bool)
            return cls(
                method=str(data["method"]),
                shift_x=_none_to_nan(data["shift_x"]),
                shift_y=_none_to_nan(data["shift_y"]),
                std_x=_none_to_nan(data["std_x"]),
                std_y=_none_to_nan(data["std_y"]),
                n_used=int(data["n_used"]),
                significant=bool(data["significant"]),
                ra0=_none_to_nan(data["ra0"]),
                dec0=_none_to_nan(data["dec0"]),
                pairs=pairs,
                unmatched=list(data.get("unmatched", [])),
                flags={k: bool(v) for k, v in data.get("flags", {}).items()},
                params=dict(data.get("params", {})),
                steps=list(data.get("steps", [])),
                notes=list(data.get("notes", [])),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"alignment solution is incomplete or malformed ({exc})") from exc

    def write_json(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write the solution as JSON (atomically); return the path."""
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"
        return write_text_atomic(path, text, overwrite=overwrite)

    @classmethod
    def read_json(cls, path: str | os.PathLike) -> AlignmentSolution:
        """Read a solution written by `write_json`.

        Raises
        ------
        InputError
            If the file is not valid JSON or not an alignment solution.
        """
        text = Path(path).read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from exc
        try:
            return cls.from_dict(data)
        except InputError as exc:
            raise InputError(f"{path}: {exc}") from exc

    def used_pairs(self) -> pd.DataFrame:
        """The pairs the shift was computed from."""
        if not len(self.pairs):
            return self.pairs
        return self.pairs[self.pairs["used"].astype(bool)]

    def write_matched_regions(
        self,
        path: str | os.PathLike,
        *,
        overwrite: bool = False,
        radius: float = 0.5,
        color: str = "cyan",
        used_only: bool = True,
    ) -> Path:
        """Write a DS9 region file of the matched reference (optical) sources.

        Each circle is labelled with the X-ray source it was matched to.

        Parameters
        ----------
        path : path-like
            Output ``.reg`` file.
        overwrite : bool
            Replace an existing file.
        radius : float
            Circle radius in arcsec.
        color : str
            DS9 colour.
        used_only : bool
            Only the pairs used for the shift (default) or every candidate pair.
        """
        from .regions import write_regions

        pairs = self.used_pairs() if used_only else self.pairs
        labels = [
            str(i) if i is not None and i == i else f"row {r}"
            for i, r in zip(pairs["xray_id"], pairs["xray_row"])
        ]
        table = pd.DataFrame(
            {
                "ra": pairs["ref_ra"].to_numpy(float),
                "dec": pairs["ref_dec"].to_numpy(float),
                "label": labels,
            }
        )
        return write_regions(
            table, path, radius=radius, color=color, label_column="label", overwrite=overwrite
        )

    def plot_residuals(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Save a PNG of the offsets (reference − X-ray) with the shift and its 1σ ellipse."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import Ellipse

        fig = Figure(figsize=(5.5, 5.0), dpi=120)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        pairs = self.pairs
        if len(pairs):
            used = pairs["used"].to_numpy(bool)
            dx = pairs["dx"].to_numpy(float)
            dy = pairs["dy"].to_numpy(float)
            ax.scatter(dx[used], dy[used], s=18, color="C0", label=f"used ({used.sum()})")
            if (~used).any():
                ax.scatter(
                    dx[~used],
                    dy[~used],
                    s=22,
                    marker="x",
                    color="0.5",
                    label=f"not used ({(~used).sum()})",
                )
        if np.isfinite(self.shift_x) and np.isfinite(self.shift_y):
            ax.plot(
                self.shift_x,
                self.shift_y,
                marker="+",
                ms=16,
                mew=2,
                color="C3",
                label=f'shift ({self.shift_x:+.3f}", {self.shift_y:+.3f}")',
            )
            if np.isfinite(self.std_x) and np.isfinite(self.std_y):
                ax.add_patch(
                    Ellipse(
                        (self.shift_x, self.shift_y),
                        2 * self.std_x,
                        2 * self.std_y,
                        fill=False,
                        color="C3",
                        ls="--",
                        label=f'1σ ({self.std_x:.3f}", {self.std_y:.3f}")',
                    )
                )
        ax.axhline(0, color="0.8", lw=0.8)
        ax.axvline(0, color="0.8", lw=0.8)
        ax.set_xlabel("Δξ = ΔRA·cos δ  (arcsec, east)")
        ax.set_ylabel("Δη = ΔDec  (arcsec, north)")
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_title(f"{self.method} alignment, reference − X-ray", fontsize=10)
        ax.legend(fontsize=8, loc="best")
        with atomic_output(path, overwrite) as tmp:
            fig.savefig(tmp, format="png")
        return Path(path)


# ---------------------------------------------------------------------------------------
# Inputs


def _load(table: Any, what: str) -> pd.DataFrame:
    """A DataFrame from a DataFrame, a table file or (for positions) a DS9 region file."""
    if isinstance(table, pd.DataFrame):
        df = table
    elif isinstance(table, str | os.PathLike):
        path = Path(table)
        if path.suffix.lower() == ".reg":
            from .regions import read_regions

            df = read_regions(path)
        else:
            from .tables import read_table

            df = read_table(path)
    else:
        raise InputError(f"{what}: expected a table (DataFrame or file path), got {type(table)}")
    if {"ra", "dec"} <= set(df.columns) and len(df) and "shape" in df.columns:
        sky = np.isfinite(pd.to_numeric(df["ra"], errors="coerce").to_numpy(float))
        if not sky.any():
            raise InputError(
                f"{what}: the region file has no sky coordinates (image or physical system); "
                "save the regions in fk5 from DS9 (Region > Save, coordinate system fk5)"
            )
        df = df[sky].reset_index(drop=True)
    return df


def _positions(df: pd.DataFrame, what: str) -> tuple[np.ndarray, np.ndarray]:
    missing = [c for c in ("ra", "dec") if c not in df.columns]
    if missing:
        raise ColumnError(
            f"{what} has no sky coordinates (no {' and '.join(missing)} column); give a table "
            "with RA/Dec in degrees, or a region file in fk5/icrs coordinates"
        )
    ra = pd.to_numeric(df["ra"], errors="coerce").to_numpy(float)
    dec = pd.to_numeric(df["dec"], errors="coerce").to_numpy(float)
    bad = ~(np.isfinite(ra) & np.isfinite(dec))
    if bad.any():
        raise InputError(
            f"{what}: {int(bad.sum())} row(s) have no valid RA/Dec (first: row "
            f"{int(np.flatnonzero(bad)[0])}); remove them first"
        )
    if np.any(np.abs(dec) > 90):
        raise InputError(f"{what}: Dec outside [-90, 90]; the coordinates must be in degrees")
    return ra, dec


def _ids(df: pd.DataFrame) -> np.ndarray | None:
    return df["source_id"].astype(str).to_numpy() if "source_id" in df.columns else None


def _significant(shift: tuple[float, float], std: tuple[float, float]) -> bool:
    return any(
        np.isfinite(s) and np.isfinite(e) and abs(s) > e for s, e in zip(shift, std, strict=True)
    )


# ---------------------------------------------------------------------------------------
# Median method


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
    xray = _load(xray, "X-ray calibrator table")
    optical = _load(optical, "optical table")
    xra, xdec = _positions(xray, "X-ray calibrator table")
    ora, odec = _positions(optical, "optical table")
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
    ra0, dec0 = ref_point if ref_point is not None else centroid(xra, xdec)
    xid, oid = _ids(xray), _ids(optical)
    rows = np.flatnonzero(idx >= 0)
    j = idx[rows]
    xi_x, eta_x = tangent_plane(xra[rows], xdec[rows], ra0, dec0)
    xi_o, eta_o = tangent_plane(ora[j], odec[j], ra0, dec0)
    pairs = pd.DataFrame(
        {
            "xray_row": rows,
            "xray_id": xid[rows] if xid is not None else None,
            "ref_row": j,
            "ref_id": oid[j] if oid is not None else None,
            "xray_ra": xra[rows],
            "xray_dec": xdec[rows],
            "ref_ra": ora[j],
            "ref_dec": odec[j],
            "sep": sep[rows],
            "dx": xi_o - xi_x,
            "dy": eta_o - eta_x,
            "group": 0,
            "weight": 1.0,
            "used": True,
        }
    )
    unmatched_rows = np.flatnonzero(idx < 0)
    unmatched = (
        [str(v) for v in xid[unmatched_rows]] if xid is not None else unmatched_rows.tolist()
    )
    notes: list[str] = []
    shared = pd.Series(j).duplicated(keep=False).to_numpy()
    if shared.any():
        notes.append(
            f"{int(shared.sum())} calibrators share an optical source (rows "
            f"{', '.join(map(str, rows[shared].tolist()))}); check they are distinct sources"
        )

    used = np.ones(len(pairs), dtype=bool)
    dx, dy = pairs["dx"].to_numpy(float), pairs["dy"].to_numpy(float)
    if clip is not None and len(pairs) > 3:
        for _ in range(max_iter):
            mx, my = np.median(dx[used]), np.median(dy[used])
            sx, sy = np.std(dx[used]), np.std(dy[used])
            keep = (np.abs(dx - mx) <= clip * sx) & (np.abs(dy - my) <= clip * sy)
            if keep.sum() < 3 or np.array_equal(keep, used):
                break
            used = keep
        n_clipped = int((~used).sum())
        if n_clipped:
            notes.append(f"{n_clipped} pair(s) rejected by {clip:g}-sigma clipping")
    pairs["used"] = used

    n_used = int(used.sum())
    if n_used:
        shift = (float(np.median(dx[used])), float(np.median(dy[used])))
        std = (float(np.std(dx[used])), float(np.std(dy[used])))
    else:
        shift, std = (0.0, 0.0), (float("nan"), float("nan"))
    flags = {"no_matches": n_used == 0, "few_matches": n_used < 3}
    return AlignmentSolution(
        method="median",
        shift_x=shift[0],
        shift_y=shift[1],
        std_x=std[0],
        std_y=std[1],
        n_used=n_used,
        significant=_significant(shift, std),
        ra0=float(ra0),
        dec0=float(dec0),
        pairs=pairs,
        unmatched=unmatched,
        flags=flags,
        params={"max_sep": sep_limit, "clip": clip, "n_calibrators": len(xray)},
        notes=notes,
    )


# ---------------------------------------------------------------------------------------
# Weighted least squares (CSC 2.1 fine astrometry)

_LOSS_DERIVATIVES = {
    # rho'(z) of scipy.optimize.least_squares' loss functions, z = f**2 / f_scale**2
    "linear": lambda z: np.ones_like(z),
    "soft_l1": lambda z: 1.0 / np.sqrt(1.0 + z),
    "huber": lambda z: np.where(z <= 1.0, 1.0, 1.0 / np.sqrt(np.maximum(z, 1.0))),
    "cauchy": lambda z: 1.0 / (1.0 + z),
    "arctan": lambda z: 1.0 / (1.0 + z**2),
}


def _solve_mm(
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


def _solve_least_squares(
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


def _weights(xray: pd.DataFrame, weights: Any, what: str) -> np.ndarray:
    """Per-row WLS weights w = 1/sigma^2, sigma^2 = r0*r1 (the circular error approximation)."""
    if isinstance(weights, str):
        if weights == "uniform":
            return np.ones(len(xray))
        if weights == "ellipse":
            missing = [c for c in ("err_r0", "err_r1") if c not in xray.columns]
            if missing:
                raise ColumnError(
                    f"{what} has no error ellipse ({', '.join(missing)} missing) for "
                    "weights='ellipse'; add err_r0/err_r1 (arcsec) or use weights='uniform'"
                )
            r0 = pd.to_numeric(xray["err_r0"], errors="coerce").to_numpy(float)
            r1 = pd.to_numeric(xray["err_r1"], errors="coerce").to_numpy(float)
            with np.errstate(divide="ignore", invalid="ignore"):
                w = 1.0 / (r0 * r1)
            return np.where(np.isfinite(w) & (w > 0), w, np.nan)
        raise InputError(f"weights={weights!r} is not known; use 'ellipse', 'uniform' or an array")
    w = np.asarray(weights, dtype=float)
    if w.shape != (len(xray),):
        raise InputError(f"weights has {w.size} values for {len(xray)} {what} rows")
    return np.where(np.isfinite(w) & (w > 0), w, np.nan)


def _proper_motion_ok(reference: pd.DataFrame, limit_mas: float | None) -> np.ndarray:
    """Reference rows to keep: total proper motion <= limit (null proper motions are kept)."""
    keep = np.ones(len(reference), dtype=bool)
    if limit_mas is None or not {"pmra", "pmdec"} & set(reference.columns):
        return keep
    pmra = pd.to_numeric(reference.get("pmra", np.nan), errors="coerce")
    pmdec = pd.to_numeric(reference.get("pmdec", np.nan), errors="coerce")
    pmra = np.broadcast_to(np.asarray(pmra, float), keep.shape)
    pmdec = np.broadcast_to(np.asarray(pmdec, float), keep.shape)
    total = np.hypot(np.nan_to_num(pmra), np.nan_to_num(pmdec))
    return total <= limit_mas


def _group_stats(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per (stack, group): n_match (detections with a match), n_pairs, sigma_x, sigma_y, sigma."""
    g = pairs.groupby(["stack", "group"], sort=True)
    stats = g.agg(n_match=("xray_row", "nunique"), n_pairs=("xray_row", "size"))
    stats["sigma_x"] = g["dx"].std(ddof=0)
    stats["sigma_y"] = g["dy"].std(ddof=0)
    stats = stats.reset_index()
    stats["sigma"] = np.sqrt(stats["sigma_x"] * stats["sigma_y"])
    return stats


def _choose_groups(stats: pd.DataFrame, min_matches: int) -> pd.DataFrame:
    """The group each stack uses (CSC 2.1 spec §5.5.3 step 4).

    Among groups with ``n_match >= min_matches``, the lowest sigma; if there is none, the
    largest ``n_match``, ties broken by the lowest sigma. Remaining ties: the group of
    smaller separations.
    """
    s = stats.copy()
    s["eligible"] = s["n_match"] >= min_matches
    s["any_eligible"] = s.groupby("stack")["eligible"].transform("any")
    s = s[s["eligible"] | ~s["any_eligible"]]
    # eligible groups: sort by sigma; otherwise: by -n_match then sigma
    s["k1"] = np.where(s["any_eligible"], 0, -s["n_match"])
    s = s.sort_values(["stack", "k1", "sigma", "group"], kind="mergesort")
    return s.drop_duplicates("stack", keep="first").set_index("stack")


def _match_pairs(
    x_stack: np.ndarray,
    xra: np.ndarray,
    xdec: np.ndarray,
    r_stack: np.ndarray,
    rra: np.ndarray,
    rdec: np.ndarray,
    ra0: np.ndarray,
    dec0: np.ndarray,
    max_sep: float,
    edges: np.ndarray,
) -> pd.DataFrame:
    """All X-ray–reference pairs within ``max_sep`` in the same stack, with tangent offsets."""
    i1, i2, sep = match_within(xra, xdec, rra, rdec, radius=max_sep)
    same = x_stack[i1] == r_stack[i2]
    i1, i2, sep = i1[same], i2[same], sep[same]
    st = x_stack[i1]
    xi_x, eta_x = tangent_plane(xra[i1], xdec[i1], ra0[st], dec0[st])
    xi_r, eta_r = tangent_plane(rra[i2], rdec[i2], ra0[st], dec0[st])
    return pd.DataFrame(
        {
            "stack": st,
            "xray_row": i1,
            "ref_row": i2,
            "sep": sep,
            "dx": xi_r - xi_x,
            "dy": eta_r - eta_x,
            "group": np.searchsorted(edges, sep, side="left") + 1,
        }
    )


def _qa_flags(
    n_match: np.ndarray,
    total_shift: np.ndarray,
    density: np.ndarray,
    has_central: np.ndarray,
    has_bright: np.ndarray,
    no_matches: np.ndarray,
) -> dict[str, np.ndarray]:
    """The QA triggers of CSC 2.1 spec §5.7 (vectorised over stacks)."""
    few = (n_match < 3) & (~has_central | ~has_bright | (total_shift > 0.5))
    return {
        "no_matches": no_matches,
        "few_matches": few | no_matches,
        "shift_large": total_shift > 1.0,
        "density_high": density > 100.0,
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


def _wls_engine(
    xray: pd.DataFrame,
    reference: pd.DataFrame,
    *,
    x_code: np.ndarray,
    r_code: np.ndarray,
    n: int,
    ra0: np.ndarray,
    dec0: np.ndarray,
    w: np.ndarray,
    loss: str,
    f_scale: float,
    bound: float,
    max_sep: float,
    edges: np.ndarray,
    min_matches: int,
    select_groups: bool,
    solver: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Match, choose groups and solve for ``n`` stacks; return (per-stack table, pairs)."""
    xra, xdec = _positions(xray, "X-ray table")
    rra, rdec = _positions(reference, "reference table")
    pairs = _match_pairs(x_code, xra, xdec, r_code, rra, rdec, ra0, dec0, max_sep, edges)
    pairs["weight"] = w[pairs["xray_row"].to_numpy()]
    pairs = pairs[np.isfinite(pairs["weight"].to_numpy())].reset_index(drop=True)

    result = pd.DataFrame(index=pd.RangeIndex(n, name="stack"))
    result["n_match_total"] = (
        pairs.groupby("stack")["xray_row"].nunique().reindex(result.index, fill_value=0)
    )
    result["n_pairs_total"] = pairs.groupby("stack").size().reindex(result.index, fill_value=0)
    if select_groups and len(pairs):
        chosen = _choose_groups(_group_stats(pairs), min_matches)
        result["group"] = chosen["group"].reindex(result.index).fillna(0).astype(int)
        used = pairs["group"].to_numpy() == result["group"].to_numpy()[pairs["stack"].to_numpy()]
    else:
        result["group"] = 0
        used = np.ones(len(pairs), dtype=bool)
    pairs["used"] = used

    u = pairs[used]
    code = u["stack"].to_numpy()
    ox, oy, wu = (u[c].to_numpy(float) for c in ("dx", "dy", "weight"))
    if solver == "least_squares":
        sx, sy = np.zeros(n), np.zeros(n)
        if len(u):
            order = np.argsort(code, kind="stable")
            starts = np.flatnonzero(np.r_[True, np.diff(code[order]) != 0])
            for a, b in zip(starts, np.r_[starts[1:], len(order)]):
                sel = order[a:b]
                s = code[sel[0]]
                sx[s], sy[s] = _solve_least_squares(ox[sel], oy[sel], wu[sel], loss, f_scale, bound)
    elif solver == "mm":
        sx, sy = _solve_mm(code, n, ox, oy, wu, loss, f_scale, bound)
    else:
        raise InputError(f"solver={solver!r} is not known; use 'least_squares' or 'mm'")

    n_used = np.bincount(code, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = np.bincount(code, ox, minlength=n) / n_used
        my = np.bincount(code, oy, minlength=n) / n_used
        vx = np.bincount(code, (ox - mx[code]) ** 2, minlength=n) / n_used
        vy = np.bincount(code, (oy - my[code]) ** 2, minlength=n) / n_used
    result["shift_x"] = sx
    result["shift_y"] = sy
    result["std_x"] = np.sqrt(vx)
    result["std_y"] = np.sqrt(vy)
    result["n_used"] = n_used
    result["n_match"] = (
        u.groupby("stack")["xray_row"].nunique().reindex(result.index, fill_value=0).to_numpy()
    )
    return result, pairs


def _stack_reference_points(
    xray: pd.DataFrame, code: np.ndarray, n: int, ref_point: Any
) -> tuple[np.ndarray, np.ndarray]:
    if ref_point is not None:
        return np.full(n, float(ref_point[0])), np.full(n, float(ref_point[1]))
    if {"ra_stack", "dec_stack"} <= set(xray.columns):
        first = pd.DataFrame({"c": code, "ra": xray["ra_stack"], "dec": xray["dec_stack"]})
        first = first.groupby("c").first().reindex(range(n))
        return first["ra"].to_numpy(float), first["dec"].to_numpy(float)
    xra, xdec = _positions(xray, "X-ray table")
    v = np.column_stack(
        [
            np.cos(np.radians(xdec)) * np.cos(np.radians(xra)),
            np.cos(np.radians(xdec)) * np.sin(np.radians(xra)),
            np.sin(np.radians(xdec)),
        ]
    )
    m = np.column_stack([np.bincount(code, v[:, k], minlength=n) for k in range(3)])
    ra0 = np.degrees(np.arctan2(m[:, 1], m[:, 0])) % 360.0
    dec0 = np.degrees(np.arctan2(m[:, 2], np.hypot(m[:, 0], m[:, 1])))
    return ra0, dec0


def _density(
    reference: pd.DataFrame,
    r_code: np.ndarray,
    n: int,
    ra0: np.ndarray,
    dec0: np.ndarray,
    field_radius: float,
    density: Any,
) -> np.ndarray:
    """Reference sources per arcmin^2 within ``field_radius`` (arcsec) of each stack centre."""
    if density is not None:
        d = np.asarray(density, dtype=float)
        return np.broadcast_to(d, (n,)).copy() if d.ndim == 0 else d
    rra, rdec = _positions(reference, "reference table")
    inside = separation_arcsec(rra, rdec, ra0[r_code], dec0[r_code]) <= field_radius
    count = np.bincount(r_code[inside], minlength=n)
    return count / (np.pi * (field_radius / 60.0) ** 2)


def _check_wls_options(loss: str, bounds: Any, f_scale: float) -> float:
    if loss not in _LOSS_DERIVATIVES:
        raise InputError(f"loss={loss!r} is not known; use one of {sorted(_LOSS_DERIVATIVES)}")
    bound = to_arcsec(bounds, what="bounds")
    if not bound > 0:
        raise InputError(f"bounds must be a positive angle, got {bounds!r}")
    if not f_scale > 0:
        raise InputError(f"f_scale must be positive, got {f_scale!r}")
    return bound


def align_wls_stacks(
    xray: pd.DataFrame,
    reference: pd.DataFrame,
    *,
    stack_column: str = "stack_id",
    weights: Any = "ellipse",
    loss: str = "cauchy",
    f_scale: float = 1.0,
    bounds: Any = "5arcsec",
    max_sep: Any = "3arcsec",
    group_edges: tuple[float, ...] = (1.0, 2.0, 3.0),
    min_matches: int = 3,
    pm_limit: float | None = 50.0,
    field_radius: Any = "10arcmin",
    density: Any = None,
    solver: str = "mm",
) -> pd.DataFrame:
    """WLS translations (CSC 2.1 fine astrometry, direct fit) for many stacks at once.

    The matching, separation groups, group choice, weights and QA flags are computed for all
    stacks together with array operations; the fits run together too (``solver="mm"``,
    a majorise-minimise iteration that converges to the same bounded minimum of the robust
    cost as `scipy.optimize.least_squares`, which ``solver="least_squares"`` calls per stack).

    Parameters
    ----------
    xray : DataFrame
        Detections of all stacks: ``stack_column``, ``ra``, ``dec``, ``err_r0``/``err_r1``
        (arcsec, for ``weights="ellipse"``), optionally ``theta`` (arcmin) and ``counts`` for
        the QA rules, and ``ra_stack``/``dec_stack`` for the tangent point (default: the
        centroid of each stack's detections).
    reference : DataFrame
        Reference sources per stack: ``stack_column``, ``ra``, ``dec``, optionally ``pmra``
        and ``pmdec`` (mas/yr).
    stack_column : str
        Column naming the stack of each row in both tables.
    weights, loss, f_scale, bounds, max_sep, group_edges, min_matches : see `align_wls`
    pm_limit, field_radius, density : see `align_wls`
    solver : {"mm", "least_squares"}
        How the fits are solved (see above).

    Returns
    -------
    DataFrame
        One row per stack (index: the stack values): ``shift_x``, ``shift_y``, ``std_x``,
        ``std_y`` (arcsec), ``n_used`` (pairs), ``n_match`` (detections), ``group``,
        ``n_match_total``, ``density``, ``ra0``, ``dec0``, the flags of `QA_FLAGS` and
        ``qa_required``.
    """
    if stack_column not in xray.columns or stack_column not in reference.columns:
        raise ColumnError(
            f"both tables need the stack column {stack_column!r}; pass stack_column=..."
        )
    bound = _check_wls_options(loss, bounds, f_scale)
    keep_ref = _proper_motion_ok(reference, pm_limit)
    stacks = pd.Index(pd.unique(xray[stack_column]))
    n = len(stacks)
    x_code = stacks.get_indexer(xray[stack_column])
    r_all = stacks.get_indexer(reference[stack_column])
    ra0, dec0 = _stack_reference_points(xray, x_code, n, None)
    in_stack = r_all >= 0
    dens = _density(
        reference[in_stack],
        r_all[in_stack],
        n,
        ra0,
        dec0,
        to_arcsec(field_radius, what="field_radius"),
        density,
    )
    ref = reference[keep_ref & in_stack]
    r_code = r_all[keep_ref & in_stack]
    w = _weights(xray, weights, "X-ray table")
    edges = np.asarray(group_edges, dtype=float)
    result, _ = _wls_engine(
        xray,
        ref,
        x_code=x_code,
        r_code=r_code,
        n=n,
        ra0=ra0,
        dec0=dec0,
        w=w,
        loss=loss,
        f_scale=f_scale,
        bound=bound,
        max_sep=min(to_arcsec(max_sep, what="max_sep"), float(edges[-1])),
        edges=edges,
        min_matches=min_matches,
        select_groups=True,
        solver=solver,
    )
    total = np.hypot(result["shift_x"], result["shift_y"]).to_numpy()
    flags = _qa_flags(
        result["n_match"].to_numpy(),
        total,
        dens,
        _any_per_stack(xray, "theta", x_code, n, lambda v: v < 5.0),
        _any_per_stack(xray, "counts", x_code, n, lambda v: v > 15.0),
        result["n_used"].to_numpy() == 0,
    )
    result["density"] = dens
    result["ra0"] = ra0
    result["dec0"] = dec0
    for k, v in flags.items():
        result[k] = v
    result["qa_required"] = np.logical_or.reduce(list(flags.values()))
    result.index = stacks.rename(stack_column)
    return result


def align_wls(
    xray: Any,
    reference: Any,
    *,
    weights: Any = "ellipse",
    loss: str = "cauchy",
    f_scale: float = 1.0,
    bounds: Any = "5arcsec",
    max_sep: Any = "3arcsec",
    group_edges: tuple[float, ...] = (1.0, 2.0, 3.0),
    min_matches: int = 3,
    pm_limit: float | None = 50.0,
    ref_point: tuple[float, float] | None = None,
    field_radius: Any = "10arcmin",
    density: float | None = None,
    intermediate: Any = None,
    link_column: str = "reference_id",
    solver: str = "least_squares",
) -> AlignmentSolution:
    """Translation-only weighted least-squares alignment (CSC 2.1 fine astrometry, §4–5.7).

    1. Reference sources with total proper motion above ``pm_limit`` are dropped (rows with
       null proper motions are kept).
    2. Every reference source within ``max_sep`` (3") of each X-ray source is a candidate
       pair (ambiguous matches included); offsets are taken on the tangent plane about
       ``ref_point``.
    3. The pairs are split by separation into groups (0–1", 1–2", 2–3"); for each, the
       number of X-ray sources with a match and sigma = sqrt(σx·σy) of the offsets. The fit
       uses the group with at least ``min_matches`` matches and the lowest sigma, or, if
       none has that many, the group with most matches (ties: lowest sigma).
    4. The shift minimises Σ ρ(w_i d_i²), d_i the distance between reference and shifted
       X-ray position, w_i = 1/(r0·r1) from the error ellipse, ρ the ``loss`` (Cauchy),
       within ±``bounds`` on each axis, with `scipy.optimize.least_squares` from no shift.
    5. With an ``intermediate`` catalogue that has more candidate pairs than the reference,
       the shift is the sum of two fits, X-ray → intermediate (weights
       1/sqrt((r0·r1)² + (σ_ra·σ_dec)²)) and intermediate → reference (one-to-one links,
       weights 1/(σ_ra·σ_dec)): T = T2·T1.
    6. QA flags (`QA_FLAGS`): reference density above 100 per arcmin², total shift above
       1", fewer than 3 matches together with no source at θ < 5', none above 15 counts or
       a shift above 0.5", and no matches at all.

    Parameters
    ----------
    xray : DataFrame or path
        X-ray detections: ``ra``, ``dec``, ``err_r0``/``err_r1`` (arcsec) for elliptical
        weights, optionally ``theta`` (arcmin), ``counts``, ``source_id``.
    reference : DataFrame or path
        Reference (e.g. Gaia) sources: ``ra``, ``dec``, optionally ``pmra``/``pmdec``
        (mas/yr) and ``source_id``.
    weights : {"ellipse", "uniform"} or array_like
        Per-X-ray-source weights; ``"ellipse"`` is 1/(err_r0·err_r1). Rows with no usable
        weight are left out (noted).
    loss : str
        A `scipy.optimize.least_squares` loss; the specification uses ``"cauchy"``.
    f_scale : float
        Soft margin of the loss between inlier and outlier residuals (scipy's ``f_scale``).
    bounds : float, str or Quantity
        Largest shift allowed on each axis (float = arcsec). Default 5".
    max_sep : float, str or Quantity
        Match radius (default 3", the last group edge).
    group_edges : tuple of float
        Upper edges of the separation groups, arcsec.
    min_matches : int
        Matches a group needs to be chosen on its scatter (3 in §5.5.3).
    pm_limit : float or None
        Proper-motion cut in mas/yr (None: keep all).
    ref_point : (float, float), optional
        Tangent point in degrees (the stack centre); default the centroid of the X-ray
        sources.
    field_radius : float, str or Quantity
        Radius around ``ref_point`` over which the reference density is counted (10').
    density : float, optional
        Reference sources per arcmin², when the reference table is not complete over the
        field (e.g. it holds only sources near detections).
    intermediate : DataFrame or path, optional
        An intermediate catalogue (e.g. ALLWISE): ``ra``, ``dec``, ``err_ra``/``err_dec``
        (arcsec; ``sigra``/``sigdec`` accepted), and ``link_column`` holding the
        ``source_id`` of its associated reference source.
    link_column : str
        Column of ``intermediate`` naming the associated reference source.
    solver : {"least_squares", "mm"}
        ``least_squares`` (the specification) or the vectorised equivalent.

    Returns
    -------
    AlignmentSolution
        ``method="wls"`` or ``"wls-two-step"``; ``pairs`` holds every candidate pair with its
        ``group`` and whether it was ``used``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> ref = pd.DataFrame({"ra": 150 + rng.uniform(-0.05, 0.05, 30),
    ...                     "dec": 2 + rng.uniform(-0.05, 0.05, 30)})
    >>> xray = ref.assign(ra=ref["ra"] - 0.4 / 3600 / np.cos(np.radians(ref["dec"])),
    ...                   dec=ref["dec"] - 0.2 / 3600, err_r0=0.5, err_r1=0.4)
    >>> sol = align_wls(xray, ref)
    >>> round(sol.shift_x, 4), round(sol.shift_y, 4)
    (0.4, 0.2)
    """
    xray = _load(xray, "X-ray table")
    reference = _load(reference, "reference table")
    xra, xdec = _positions(xray, "X-ray table")
    _positions(reference, "reference table")
    if len(xray) == 0:
        raise InputError("the X-ray table is empty")
    bound = _check_wls_options(loss, bounds, f_scale)
    sep_limit = to_arcsec(max_sep, what="max_sep")
    edges = np.asarray(group_edges, dtype=float)
    sep_limit = min(sep_limit, float(edges[-1]))
    ra0, dec0 = ref_point if ref_point is not None else centroid(xra, xdec)
    ra0a, dec0a = np.array([float(ra0)]), np.array([float(dec0)])
    notes: list[str] = []

    keep_ref = _proper_motion_ok(reference, pm_limit)
    if (~keep_ref).any():
        notes.append(
            f"{int((~keep_ref).sum())} reference source(s) with proper motion > "
            f"{pm_limit:g} mas/yr dropped"
        )
    dens = _density(
        reference,
        np.zeros(len(reference), dtype=np.intp),
        1,
        ra0a,
        dec0a,
        to_arcsec(field_radius, what="field_radius"),
        density,
    )[0]
    ref_kept = reference[keep_ref]
    w = _weights(xray, weights, "X-ray table")
    if np.isnan(w).any():
        notes.append(f"{int(np.isnan(w).sum())} X-ray source(s) without a usable weight left out")
    common = dict(
        x_code=np.zeros(len(xray), dtype=np.intp),
        n=1,
        ra0=ra0a,
        dec0=dec0a,
        loss=loss,
        f_scale=f_scale,
        bound=bound,
        max_sep=sep_limit,
        edges=edges,
        min_matches=min_matches,
        solver=solver,
    )
    direct, pairs = _wls_engine(
        xray,
        ref_kept,
        r_code=np.zeros(len(ref_kept), dtype=np.intp),
        w=w,
        select_groups=True,
        **common,
    )
    pairs["ref_row"] = np.flatnonzero(keep_ref)[pairs["ref_row"].to_numpy()]
    method, row, steps, ref_for_pairs = "wls", direct.iloc[0], [], reference

    if intermediate is not None:
        inter = _load(intermediate, "intermediate catalogue")
        two = _two_step(
            xray,
            reference,
            keep_ref,
            inter,
            link_column,
            w,
            int(direct.iloc[0]["n_pairs_total"]),
            common,
            notes,
        )
        if two is not None:
            method, row, steps, pairs, ref_for_pairs = "wls-two-step", *two

    shift = (float(row["shift_x"]), float(row["shift_y"]))
    std = (float(row["std_x"]), float(row["std_y"]))
    n_match = int(row["n_match"])
    n_used = int(row["n_used"])
    if method == "wls-two-step":
        shift = (
            steps[0]["shift_x"] + steps[1]["shift_x"],
            steps[0]["shift_y"] + steps[1]["shift_y"],
        )
    has_central = _any_per_stack(xray, "theta", common["x_code"], 1, lambda v: v < 5.0)
    has_bright = _any_per_stack(xray, "counts", common["x_code"], 1, lambda v: v > 15.0)
    flags = {
        k: bool(v[0])
        for k, v in _qa_flags(
            np.array([n_match]),
            np.array([math.hypot(*shift)]),
            np.array([dens]),
            has_central,
            has_bright,
            np.array([n_used == 0]),
        ).items()
    }
    if n_used == 0:
        std = (float("nan"), float("nan"))

    xid, rid = _ids(xray), _ids(ref_for_pairs)
    xr = pairs["xray_row"].to_numpy()
    rr = pairs["ref_row"].to_numpy()
    rra, rdec = _positions(ref_for_pairs, "reference table")
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
            "dx": pairs["dx"].to_numpy(float),
            "dy": pairs["dy"].to_numpy(float),
            "group": pairs["group"].to_numpy(int),
            "weight": pairs["weight"].to_numpy(float),
            "used": pairs["used"].to_numpy(bool),
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
        significant=_significant(shift, std),
        ra0=float(ra0),
        dec0=float(dec0),
        pairs=out_pairs,
        unmatched=unmatched,
        flags=flags,
        params={
            "weights": weights if isinstance(weights, str) else "array",
            "loss": loss,
            "f_scale": f_scale,
            "bounds": bound,
            "max_sep": sep_limit,
            "group_edges": ",".join(f"{e:g}" for e in edges),
            "min_matches": min_matches,
            "pm_limit": pm_limit,
            "density": float(dens),
            "group": int(row["group"]),
            "n_match": n_match,
            "solver": solver,
        },
        steps=steps,
        notes=notes,
    )


def _intermediate_errors(inter: pd.DataFrame) -> np.ndarray:
    for a, b in (("err_ra", "err_dec"), ("sigra", "sigdec")):
        if {a, b} <= set(inter.columns):
            ea = pd.to_numeric(inter[a], errors="coerce").to_numpy(float)
            eb = pd.to_numeric(inter[b], errors="coerce").to_numpy(float)
            return ea * eb
    raise ColumnError(
        "the intermediate catalogue has no position errors; add err_ra and err_dec (arcsec)"
    )


def _two_step(
    xray: pd.DataFrame,
    reference: pd.DataFrame,
    keep_ref: np.ndarray,
    inter: pd.DataFrame,
    link_column: str,
    w: np.ndarray,
    n_direct: int,
    common: dict[str, Any],
    notes: list[str],
) -> tuple[pd.Series, list[dict[str, Any]], pd.DataFrame, pd.DataFrame] | None:
    """The two-step fit (spec §5.5.4) if the intermediate catalogue has more pairs, else None."""
    _positions(inter, "intermediate catalogue")
    if link_column not in inter.columns:
        raise ColumnError(
            f"the intermediate catalogue has no {link_column!r} column linking it to the "
            "reference catalogue; pass link_column=..."
        )
    if "source_id" not in reference.columns:
        raise ColumnError("the reference table needs source_id to link the intermediate catalogue")
    var_i = _intermediate_errors(inter)
    # Intermediate sources linked to a high-proper-motion reference source are dropped too.
    ref_ids = reference["source_id"].astype(str)
    fast = set(ref_ids[~keep_ref])
    link = inter[link_column].astype(str)
    inter_ok = ~link.isin(fast).to_numpy()
    inter_kept = inter[inter_ok]
    var_kept = var_i[inter_ok]
    r0r1 = 1.0 / w  # w = 1/(r0 r1)
    n0 = np.zeros(len(inter_kept), dtype=np.intp)
    # X-ray -> intermediate: candidate pairs and weights 1/sqrt((r0 r1)^2 + (s_ra s_dec)^2)
    probe, pairs1 = _wls_engine(
        xray, inter_kept, r_code=n0, w=np.ones(len(xray)), select_groups=False, **common
    )
    n_inter = int(probe.iloc[0]["n_pairs_total"])
    if n_inter <= n_direct:
        notes.append(f"direct fit used: {n_direct} reference pairs >= {n_inter} intermediate pairs")
        return None
    xr = pairs1["xray_row"].to_numpy()
    ir = pairs1["ref_row"].to_numpy()
    w1_pairs = 1.0 / np.sqrt(r0r1[xr] ** 2 + var_kept[ir] ** 2)
    step1, pairs1 = _wls_engine_pairs(pairs1, w1_pairs, common)
    # intermediate -> reference over one-to-one links, weights 1/(s_ra s_dec)
    ref_pos = pd.Series(np.arange(len(reference)), index=ref_ids)
    ref_pos = ref_pos[~ref_pos.index.duplicated(keep=False)]
    counts = link[inter_ok].value_counts()
    one_to_one = (
        link[inter_ok].map(counts).eq(1).to_numpy() & link[inter_ok].isin(ref_pos.index).to_numpy()
    )
    a = inter_kept[one_to_one]
    b = reference.iloc[ref_pos[link[inter_ok][one_to_one]].to_numpy()]
    ara, adec = _positions(a, "intermediate catalogue")
    bra, bdec = _positions(b, "reference table")
    ra0, dec0 = common["ra0"][0], common["dec0"][0]
    ax, ay = tangent_plane(ara, adec, ra0, dec0)
    bx, by = tangent_plane(bra, bdec, ra0, dec0)
    w2 = 1.0 / var_kept[one_to_one]
    ok = np.isfinite(w2) & (w2 > 0)
    if ok.sum() == 0:
        raise InputError("no usable intermediate–reference links for the two-step fit")
    ox, oy, ww = (bx - ax)[ok], (by - ay)[ok], w2[ok]
    s2 = _solve_single(ox, oy, ww, common)
    steps = [
        {
            "name": "xray->intermediate",
            "shift_x": float(step1["shift_x"]),
            "shift_y": float(step1["shift_y"]),
            "std_x": float(step1["std_x"]),
            "std_y": float(step1["std_y"]),
            "n_used": int(step1["n_used"]),
            "group": int(step1["group"]),
        },
        {
            "name": "intermediate->reference",
            "shift_x": s2[0],
            "shift_y": s2[1],
            "std_x": float(np.std(ox)),
            "std_y": float(np.std(oy)),
            "n_used": int(ok.sum()),
        },
    ]
    notes.append(
        f"two-step fit through the intermediate catalogue ({n_inter} pairs > {n_direct} "
        "direct); std is that of the X-ray->intermediate offsets"
    )
    pairs1 = pairs1.copy()
    pairs1["ref_row"] = np.flatnonzero(inter_ok)[pairs1["ref_row"].to_numpy()]
    return step1, steps, pairs1, inter


def _solve_single(
    ox: np.ndarray, oy: np.ndarray, ww: np.ndarray, common: dict[str, Any]
) -> tuple[float, float]:
    """The shift of one stack's offsets with the configured solver."""
    if common["solver"] == "least_squares":
        return _solve_least_squares(ox, oy, ww, common["loss"], common["f_scale"], common["bound"])
    zeros = np.zeros(len(ox), dtype=np.intp)
    sx, sy = _solve_mm(zeros, 1, ox, oy, ww, common["loss"], common["f_scale"], common["bound"])
    return float(sx[0]), float(sy[0])


def _wls_engine_pairs(
    pairs: pd.DataFrame, weights: np.ndarray, common: dict[str, Any]
) -> tuple[pd.Series, pd.DataFrame]:
    """Group choice and fit for one stack on already-matched pairs with per-pair weights."""
    pairs = pairs.copy()
    pairs["weight"] = weights
    pairs = pairs[np.isfinite(weights)].reset_index(drop=True)
    if len(pairs):
        chosen = _choose_groups(_group_stats(pairs), common["min_matches"]).iloc[0]
        group = int(chosen["group"])
    else:
        group = 0
    used = pairs["group"].to_numpy() == group
    pairs["used"] = used
    u = pairs[used]
    ox, oy, ww = (u[c].to_numpy(float) for c in ("dx", "dy", "weight"))
    s = _solve_single(ox, oy, ww, common) if len(u) else (0.0, 0.0)
    row = pd.Series(
        {
            "shift_x": s[0],
            "shift_y": s[1],
            "std_x": float(np.std(ox)) if len(u) else float("nan"),
            "std_y": float(np.std(oy)) if len(u) else float("nan"),
            "n_used": len(u),
            "n_match": int(u["xray_row"].nunique()),
            "group": group,
        }
    )
    return row, pairs


# ---------------------------------------------------------------------------------------
# Applying a solution


def apply_shift(
    df: pd.DataFrame,
    solution: AlignmentSolution,
    *,
    when: str = "always",
    ra_column: str = "ra",
    dec_column: str = "dec",
    suffix: str = "_aligned",
    replace: bool = False,
) -> pd.DataFrame:
    """Return a copy of ``df`` with the solution's shift applied on the tangent plane.

    Positions are projected about the solution's tangent point, shifted by
    (``shift_x``, ``shift_y``) and projected back; the results go to new columns
    ``ra_aligned`` and ``dec_aligned`` (``ra_column + suffix``, ...). The original columns
    and the input frame are not changed.

    Parameters
    ----------
    df : DataFrame
        Table with RA/Dec in degrees.
    solution : AlignmentSolution
        The alignment to apply.
    when : {"always", "significant"}
        ``"significant"`` applies the shift only if the solution is significant (else the new
        columns repeat the originals), as the XRBID guide recommends.
    ra_column, dec_column : str
        Input columns.
    suffix : str
        Suffix of the new columns.
    replace : bool
        Put the aligned positions in ``ra_column``/``dec_column`` themselves (so later steps
        use them) and keep the originals in ``ra_original``/``dec_original``
        (``ra_column + "_original"``, ...) instead.

    Returns
    -------
    DataFrame
        A new frame with the two extra columns.

    Examples
    --------
    >>> import pandas as pd
    >>> sol = AlignmentSolution("median", 0.0, 0.36, 0.1, 0.1, 3, True, 10.0, 0.0)
    >>> out = apply_shift(pd.DataFrame({"ra": [10.0], "dec": [0.0]}), sol)
    >>> round(float(out["dec_aligned"].iloc[0]) * 3600, 6)
    0.36
    """
    if when not in ("always", "significant"):
        raise InputError(f"when={when!r}: use 'always' or 'significant'")
    missing = [c for c in (ra_column, dec_column) if c not in df.columns]
    if missing:
        raise ColumnError(f"the table has no {' or '.join(missing)} column to shift")
    ra = pd.to_numeric(df[ra_column], errors="coerce").to_numpy(float)
    dec = pd.to_numeric(df[dec_column], errors="coerce").to_numpy(float)
    out = df.copy()
    apply = when == "always" or solution.significant
    sx, sy = solution.shift
    if not (np.isfinite(sx) and np.isfinite(sy)):
        raise InputError("the solution has no finite shift to apply")
    if apply and (sx != 0.0 or sy != 0.0):
        far = separation_arcsec(ra, dec, solution.ra0, solution.dec0) > FIELD_LIMIT_ARCSEC
        if far.any():
            warnings.warn(
                f"{int(far.sum())} row(s) lie more than {FIELD_LIMIT_ARCSEC / 3600:g} deg from "
                f"the solution's tangent point ({solution.ra0:.5f}, {solution.dec0:.5f}); a "
                "shift measured in one field may not hold there",
                UserWarning,
                stacklevel=2,
            )
        xi, eta = tangent_plane(ra, dec, solution.ra0, solution.dec0)
        new_ra, new_dec = from_tangent_plane(xi + sx, eta + sy, solution.ra0, solution.dec0)
    else:
        new_ra, new_dec = ra.copy(), dec.copy()
    if replace:
        out[ra_column + "_original"] = ra
        out[dec_column + "_original"] = dec
        out[ra_column] = new_ra
        out[dec_column] = new_dec
    else:
        out[ra_column + suffix] = new_ra
        out[dec_column + suffix] = new_dec
    return out
