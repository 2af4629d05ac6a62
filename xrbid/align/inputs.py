"""The input selection of the CSC 2.1 fine-astrometry specification (§5.1, §5.5.1).

Before the translation is fitted, the specification keeps only detections that can carry it:

* within ``r_stack`` = 10' of the optical axis (off-axis angle ``theta``; the PSF grows fast
  beyond it);
* not flagged for saturation (``sat_src_flag``; a piled-up, "cratered" detection has a biased
  centroid);
* not a convex-hull (extended) source: CSC 2 names those with a trailing ``X``
  (``2CXO JHHMMSS.s+DDMMSSX``; Rots, CDS Dictionary of Nomenclature, acronym 2CXO);
* of likelihood class TRUE or MARGINAL (never FALSE);

and, for an ALLWISE intermediate catalogue, only sources with contamination and confusion flags
``cc_flags`` = 0 (``0000``, no artefact in any band).

Each filter is applied where its column exists and can be switched off; what each removed is
counted, in the order above (a row failing several filters is counted by the first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..sky import to_arcsec

__all__ = ["INPUT_FILTERS", "InputSelection", "select_intermediate", "select_xray"]

INPUT_FILTERS = {
    "off_axis": "off-axis angle theta >= the limit (10')",
    "saturated": "sat_src_flag set (saturated, cratered detection)",
    "convex_hull": "convex-hull (extended) source: CSC name ending in X",
    "likelihood": "likelihood class not TRUE or MARGINAL",
    "cc_flags": "ALLWISE contamination/confusion flags cc_flags not 0",
}
"""The input filters of CSC 2.1 §5.1/§5.5.1, with what each removes."""

SWITCH_OFF = {
    "off_axis": "max_theta=None (--all-theta)",
    "saturated": "exclude_saturated=False (--keep-saturated)",
    "convex_hull": "exclude_convex_hull=False (--keep-convex-hull)",
    "likelihood": "likelihood_classes=None (--likelihood any)",
    "cc_flags": "require_cc_flags_zero=False (--keep-cc-flagged)",
}
"""How to switch each filter off: the keyword of the Python functions (the command-line option)."""

_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0", ""}


@dataclass
class InputSelection:
    """What the input selection kept and removed.

    Attributes
    ----------
    keep : numpy.ndarray of bool
        Rows kept.
    removed_by : numpy.ndarray of str
        Per row, the filter that removed it (``""`` for a kept row).
    removed : dict of str to int or None
        Rows removed by each filter (`INPUT_FILTERS`), in the order applied; None when the
        filter was not applied, with the reason in ``skipped``.
    skipped : dict of str to str
        Why a filter was not applied (switched off, or its column absent).
    max_theta : float or None
        The off-axis limit applied, in arcmin (None when that filter was not applied).
    """

    keep: np.ndarray
    removed_by: np.ndarray
    removed: dict[str, int | None] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    max_theta: float | None = None

    @property
    def n_removed(self) -> int:
        """Rows removed by any filter."""
        return int((~self.keep).sum())

    def summary(self) -> str:
        """One phrase for a summary line, e.g. ``removed off-axis 3, saturated 1``."""
        parts = [f"{k.replace('_', '-')} {v}" for k, v in self.removed.items() if v]
        return "removed " + ", ".join(parts) if parts else "removed none"

    def switch_off_hint(self) -> str:
        """How to switch off the filters that removed rows, e.g. for an error message."""
        hints = [SWITCH_OFF[k] for k, v in self.removed.items() if v]
        if self.removed.get("off_axis"):
            hints[0] += f" or raise the limit ({self.max_theta:g} arcmin; theta is in arcmin)"
        return ", ".join(hints)


LIKELIHOOD_CLASSES = frozenset({"TRUE", "MARGINAL", "FALSE"})
"""The values of the CSC 2 ``likelihood_class`` column (its column description)."""


def _truthy(values: pd.Series) -> np.ndarray:
    """True where a flag column is set: booleans, 1/0, or TRUE/FALSE text (null: not set)."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.fillna(False).to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(values.dtype):
        v = pd.to_numeric(values, errors="coerce").to_numpy(float)
        return np.isfinite(v) & (v != 0)
    text = values.astype("string").str.strip().str.lower()
    unknown = text.notna() & ~text.isin(_TRUE | _FALSE)
    if unknown.any():
        raise InputError(
            f"{values.name} holds {values[unknown].iloc[0]!r}, which is neither true nor false; "
            "write TRUE/FALSE, T/F or 1/0"
        )
    return text.isin(_TRUE).fillna(False).to_numpy(dtype=bool)


def _first(df: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in df.columns), None)


def select_xray(
    xray: pd.DataFrame,
    *,
    max_theta: Any = "10arcmin",
    exclude_saturated: bool = True,
    exclude_convex_hull: bool = True,
    likelihood_classes: tuple[str, ...] | None = ("TRUE", "MARGINAL"),
) -> InputSelection:
    """The X-ray detections the CSC 2.1 fine astrometry may use (spec §5.1, §5.5.1).

    Parameters
    ----------
    xray : pandas.DataFrame
        Detections in the canonical schema: ``theta`` (arcmin; ``theta_mean`` when there is
        no ``theta``), ``sat_src_flag``, ``source_id`` or ``name`` (CSC names), ``likelihood``
        (its class) or ``likelihood_class``. Absent columns skip their filter.
    max_theta : float, str, Quantity or None
        Keep ``theta`` strictly below this (a bare number is arcsec, as for every angle in
        xrbid: write ``"10arcmin"``). None: no off-axis cut.
    exclude_saturated : bool
        Drop rows whose ``sat_src_flag`` is set (null counts as not set).
    exclude_convex_hull : bool
        Drop convex-hull (extended) sources: CSC names ending in ``X``.
    likelihood_classes : tuple of str or None
        Likelihood classes to keep (case-insensitive). None: no cut. A numeric likelihood
        column is not a class and is left alone.

    Returns
    -------
    InputSelection

    Raises
    ------
    InputError
        If ``max_theta`` is not a positive angle, ``theta`` holds text that is not a
        number, or ``sat_src_flag`` text that is neither true nor false.

    Examples
    --------
    >>> df = pd.DataFrame({"theta": [2.0, 12.0, 3.0], "sat_src_flag": [False, False, True],
    ...                    "likelihood": ["TRUE", "TRUE", "MARGINAL"]})
    >>> sel = select_xray(df)
    >>> sel.keep.tolist(), sel.removed["off_axis"], sel.removed["saturated"]
    ([True, False, False], 1, 1)
    """
    n = len(xray)
    keep = np.ones(n, dtype=bool)
    out = InputSelection(keep, np.full(n, "", dtype=object))

    def apply(name: str, fails: np.ndarray) -> None:
        removed = keep & fails
        out.removed[name] = int(removed.sum())
        out.removed_by[removed] = name
        keep[removed] = False

    def skip(name: str, why: str) -> None:
        out.removed[name] = None
        out.skipped[name] = why

    theta_col = _first(xray, ("theta", "theta_mean"))
    if max_theta is None:
        skip("off_axis", "switched off")
    elif theta_col is None:
        skip("off_axis", "no theta column")
    else:
        limit = to_arcsec(max_theta, what="max_theta") / 60.0
        if not limit > 0:
            raise InputError(
                f"max_theta (--max-theta) must be a positive angle, got {limit:g} arcmin"
            )
        out.max_theta = limit
        theta = pd.to_numeric(xray[theta_col], errors="coerce").to_numpy(float)
        text = xray[theta_col].astype("string").str.strip()
        unread = np.isnan(theta) & text.notna().to_numpy() & (text != "").fillna(False).to_numpy()
        if unread.any():  # text such as '5 arcmin' must not count as off-axis
            raise InputError(
                f"{theta_col} holds {xray[theta_col][unread].iloc[0]!r}, which is not a number "
                "of arcmin; give theta as numbers"
            )
        apply("off_axis", ~(theta < limit))
    if not exclude_saturated:
        skip("saturated", "switched off")
    elif "sat_src_flag" not in xray.columns:
        skip("saturated", "no sat_src_flag column")
    else:
        apply("saturated", _truthy(xray["sat_src_flag"]))
    name_col = _first(xray, ("name", "source_id"))
    if not exclude_convex_hull:
        skip("convex_hull", "switched off")
    elif name_col is None:
        skip("convex_hull", "no source name column")
    else:
        names = xray[name_col].astype("string").str.strip()
        hull = names.str.match(r"^2CXO\s*J\S+X$").fillna(False).to_numpy(dtype=bool)
        apply("convex_hull", hull)
    like_col = _first(xray, ("likelihood_class", "likelihood"))
    if likelihood_classes is not None:
        unknown = sorted({c.strip().upper() for c in likelihood_classes} - LIKELIHOOD_CLASSES)
        if unknown:
            raise InputError(
                f"unknown likelihood class {', '.join(unknown)}; the CSC classes are "
                f"{', '.join(sorted(LIKELIHOOD_CLASSES))} (or switch the cut off: None / "
                "--likelihood any)"
            )
    if likelihood_classes is None:
        skip("likelihood", "switched off")
    elif like_col is None:
        skip("likelihood", "no likelihood class column")
    elif pd.api.types.is_numeric_dtype(xray[like_col].dtype) and not pd.api.types.is_bool_dtype(
        xray[like_col].dtype
    ):
        skip("likelihood", f"{like_col} is numeric, not a class")
    else:
        wanted = {c.upper() for c in likelihood_classes}
        values = xray[like_col]
        if pd.api.types.is_bool_dtype(values.dtype):  # an all-TRUE class column read as booleans
            values = values.map({True: "TRUE", False: "FALSE"})
        cls = values.astype("string").str.strip().str.upper()
        apply("likelihood", ~cls.isin(wanted).fillna(False).to_numpy(dtype=bool))
    return out


def select_intermediate(
    intermediate: pd.DataFrame, *, require_cc_flags_zero: bool = True
) -> InputSelection:
    """The ALLWISE sources the two-step fit may use: ``cc_flags`` = 0 (spec §5.5.1).

    ``cc_flags`` is ALLWISE's four-character contamination and confusion flag (one per band,
    ``0`` = no artefact); a numeric 0 is accepted too. Without the column nothing is removed.

    Parameters
    ----------
    intermediate : pandas.DataFrame
        The intermediate catalogue.
    require_cc_flags_zero : bool
        Apply the filter.

    Returns
    -------
    InputSelection

    Examples
    --------
    >>> sel = select_intermediate(pd.DataFrame({"cc_flags": ["0000", "00d0", "0"]}))
    >>> sel.keep.tolist(), sel.removed
    ([True, False, True], {'cc_flags': 1})
    """
    keep = np.ones(len(intermediate), dtype=bool)
    out = InputSelection(keep, np.full(len(intermediate), "", dtype=object))
    if not require_cc_flags_zero:
        out.removed["cc_flags"] = None
        out.skipped["cc_flags"] = "switched off"
    elif "cc_flags" not in intermediate.columns:
        out.removed["cc_flags"] = None
        out.skipped["cc_flags"] = "no cc_flags column"
    else:
        text = intermediate["cc_flags"].astype("string").str.strip()
        clean = text.str.fullmatch(r"0+(\.0+)?").fillna(False).to_numpy(dtype=bool)
        out.removed["cc_flags"] = int((~clean).sum())
        out.removed_by[~clean] = "cc_flags"
        keep &= clean
    return out
