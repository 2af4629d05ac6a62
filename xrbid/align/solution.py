"""The result of an alignment, its JSON file, and applying its shift.

Offsets are always measured on the tangent plane about a reference point, in arcsec:
Δξ ≈ ΔRA·cos δ (east) and Δη ≈ ΔDec (north); raw RA differences are never used (see
``docs/alignment.md``). `apply_shift` applies a solution's shift on that same plane.
`read_solution_data` is the one reader of the solution JSON: everything that takes a solution
file (``xrbid pu --solution``, ``xrbid align apply``, `AlignmentSolution.read_json`) goes
through it.
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

from .. import errors
from .._io import write_text_atomic
from ..errors import ColumnError, InputError
from ..sky import from_tangent_plane, separation_arcsec, tangent_plane

__all__ = [
    "FORMAT",
    "AlignmentSolution",
    "apply_shift",
    "check_solution_format",
    "read_solution",
    "read_solution_data",
]

FORMAT = "xrbid-alignment/1"
"""The ``format`` field of every alignment solution JSON this version writes and reads."""

FIELD_LIMIT_ARCSEC = 3600.0
"""`apply_shift` warns about rows farther than this from the solution's tangent point."""

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
    selection : dict of str to int or None
        Rows the input selection of CSC 2.1 §5.1/§5.5.1 removed, per filter
        (`xrbid.align.inputs.INPUT_FILTERS`); None for a filter not applied (switched off or
        its column absent; the notes say which). Empty for the median method.
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
    selection: dict[str, int | None] = field(default_factory=dict)

    @property
    def shift(self) -> tuple[float, float]:
        """(Δξ, Δη) shift in arcsec, reference − X-ray."""
        return (self.shift_x, self.shift_y)

    @property
    def std(self) -> tuple[float, float]:
        """(σx, σy) in arcsec."""
        return (self.std_x, self.std_y)

    @property
    def sigma_astro(self) -> tuple[float, float]:
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
        removed = [f"{k.replace('_', '-')} {v}" for k, v in self.selection.items() if v]
        if removed:
            text += "; inputs removed: " + ", ".join(removed)
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
            "input_selection": dict(self.selection),
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
        check_solution_format(data)
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
                selection=dict(data.get("input_selection", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"alignment solution is incomplete or malformed ({exc})") from exc

    def write_json(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write the solution as JSON (atomically); return the path."""
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"
        return write_text_atomic(path, text, overwrite=overwrite)

    @classmethod
    def read_json(cls, path: str | os.PathLike) -> AlignmentSolution:
        """Read a solution written by `write_json` (see `read_solution`).

        Raises
        ------
        InputError
            If the file is missing, not JSON, or not an alignment solution.
        """
        return read_solution(path)

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
        from ..regions import write_regions

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

    def plot_residuals(
        self, path: str | os.PathLike, *, overwrite: bool = False, field: str | None = None
    ) -> Path:
        """Save the residual plot (`xrbid.figures.plot_alignment`) in the format of the suffix.

        Parameters
        ----------
        path : str or path-like
            Output figure (``.png``, ``.pdf``, ``.svg``, ...), written atomically.
        overwrite : bool
            Replace an existing file.
        field : str, optional
            Field or ObsID named in the title.
        """
        from xrbid.figures import plot_alignment, save_figure

        return save_figure(plot_alignment(self, field=field), path, overwrite=overwrite, dpi=150)


# ---------------------------------------------------------------------------------------
# The solution file


def check_solution_format(data: Any, where: str = "") -> None:
    """Check that ``data`` (a parsed JSON value) is an xrbid alignment solution.

    Parameters
    ----------
    data : any
        The value parsed from the JSON file.
    where : str
        The file name, to start the message with.

    Raises
    ------
    InputError
        If ``data`` is not a JSON object, or its ``format`` is not `FORMAT`.
    """
    prefix = f"{where}: " if where else ""
    hint = "write one with `xrbid align median` or `xrbid align wls`"
    if not isinstance(data, dict):
        kind = "a JSON list" if isinstance(data, list) else f"a JSON {type(data).__name__}"
        raise InputError(
            f"{prefix}not an xrbid alignment solution ({kind}, not an object with "
            f"'format': '{FORMAT}'); {hint}"
        )
    found = data.get("format")
    if found != FORMAT:
        what = "no 'format'" if found is None else f"'format' is {found!r}"
        raise InputError(
            f"{prefix}not an xrbid alignment solution ({what}; expected '{FORMAT}'); {hint}"
        )


def read_solution_data(path: str | os.PathLike) -> dict[str, Any]:
    """Read an alignment solution JSON file and check its ``format``; return the dict.

    Parameters
    ----------
    path : path-like
        The JSON written by ``xrbid align median``/``wls`` (`AlignmentSolution.write_json`).

    Returns
    -------
    dict
        The parsed solution (``std_x``, ``std_y`` in arcsec at the top level).

    Raises
    ------
    InputError
        If the file is missing, not JSON, a JSON list or other value, or its ``format`` is
        not `FORMAT` (e.g. ``"something-else/9"``).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such alignment solution file; check the path") from None
    except (IsADirectoryError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path}: not an alignment solution JSON ({exc}); give the file written by "
            "`xrbid align`"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: not JSON ({exc.msg} at line {exc.lineno}), so not an alignment solution "
            "JSON; give the file written by `xrbid align`"
        ) from None
    check_solution_format(data, str(path))
    return data


def read_solution(path: str | os.PathLike) -> AlignmentSolution:
    """Read an alignment solution written by `AlignmentSolution.write_json`.

    Raises
    ------
    InputError
        As `read_solution_data`, or if the solution is incomplete.
    """
    data = read_solution_data(path)
    try:
        return AlignmentSolution.from_dict(data)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from exc


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
                errors.XrbidWarning,
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
