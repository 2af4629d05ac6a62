"""Best observation per X-ray source, and the optical counterpart candidates inside its radius.

`best_observations` keeps one row per source, following the XRBID guide's rule: among the
source's rows prefer those with valid counts and θ, then those with counts > 0, then the
smallest 2σ radius, and the first in table order on ties.

`find_counterparts` lists every optical source inside each X-ray source's radius (true angular
distance), ranked by separation; `merge_optical_catalogs` first joins per-filter optical
catalogues by position; `write_counterpart_regions` writes the candidates as a labelled DS9
region file.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import errors
from .errors import InputError
from .schema import numeric_column, require_columns, sky_positions
from .sky import fields_apart, match_nearest, match_within, to_arcsec

__all__ = [
    "best_observations",
    "find_counterparts",
    "merge_optical_catalogs",
    "write_counterpart_regions",
]


def _check_radii(xray: pd.DataFrame, radius: np.ndarray, column: str) -> None:
    """Search radii: negative ones are an error; missing ones (NaN) find nothing, so say so."""
    ids = xray["source_id"].to_numpy()
    negative = radius < 0
    if negative.any():
        k = int(np.flatnonzero(negative)[0])
        raise InputError(
            f"{column} is {radius[k]:g} (negative) for {ids[k]} (row {k}, 0-based); radii must "
            f"be >= 0 arcsec: recompute them with xrbid pu"
        )
    missing = ~np.isfinite(radius)
    if missing.all() and len(radius):
        raise InputError(
            f"{column} is missing (NaN) or infinite for all {len(radius)} X-ray sources, so no "
            "candidate can be found; compute the radii first with xrbid pu"
        )
    if missing.any():
        k = int(np.flatnonzero(missing)[0])
        warnings.warn(
            f"{int(missing.sum())} of {len(radius)} X-ray sources have no finite {column} "
            f"(first: {ids[k]}) and get no candidates",
            errors.XrbidWarning,
            stacklevel=3,
        )


def _source_codes(df: pd.DataFrame, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Integer code per row (in order of first appearance) and the unique source IDs."""
    require_columns(
        df,
        ["source_id"],
        what="naming the sources",
        source=what,
        hint="read the table with xrbid.tables.read_table, which maps the CSC source name "
        "('name', 'CSC ID') onto it",
    )
    codes, uniques = pd.factorize(df["source_id"], use_na_sentinel=True)
    if np.any(codes < 0):
        raise InputError(
            f"{what}: {int(np.sum(codes < 0))} rows have no source_id; drop or name them first"
        )
    return codes, np.asarray(uniques)


def best_observations(df: pd.DataFrame) -> pd.DataFrame:
    """One row per source: its best observation.

    Among a source's rows, prefer (in this order) those with valid (finite) counts and θ,
    then those with counts > 0, then the smallest ``pu_2sigma``; on a tie the first row in
    table order wins. NaN radii rank last.

    Parameters
    ----------
    df : pandas.DataFrame
        Per-observation table with ``source_id``, ``counts``, ``theta`` and ``pu_2sigma`` (add
        the radii with `xrbid.uncertainty.positional_uncertainty`).

    Returns
    -------
    pandas.DataFrame
        The chosen rows, one per source, in order of each source's first appearance in ``df``,
        with a fresh 0..n-1 index and an added ``n_obs`` column (the source's number of rows).

    Raises
    ------
    ColumnError
        If a required column is missing.
    InputError
        If a row has no source_id.

    Warns
    -----
    XrbidWarning
        If some sources' chosen rows have no ``pu_2sigma`` (NaN): it says how many.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"source_id": ["A", "A", "B"], "counts": [0.0, 7.6, 12.0],
    ...                   "theta": [float("nan"), 3.4, 1.0], "pu_2sigma": [0.97, 1.71, 1.2]})
    >>> best_observations(t)[["source_id", "pu_2sigma", "n_obs"]].to_numpy().tolist()
    [['A', 1.71, 2], ['B', 1.2, 1]]
    """
    codes, _ = _source_codes(df, "the table")
    require_columns(
        df,
        ["counts", "theta", "pu_2sigma"],
        what="choosing the best observations",
        source="the table",
        hint="add the radii first (xrbid pu / positional_uncertainty)",
    )
    counts = numeric_column(df, "counts")
    theta = numeric_column(df, "theta")
    radius = numeric_column(df, "pu_2sigma")

    invalid = ~(np.isfinite(counts) & np.isfinite(theta))  # NaN or ±inf: not a measurement
    not_positive = ~(counts > 0)
    radius_key = np.where(np.isnan(radius), np.inf, radius)
    # Two stable sorts: by radius, then by (source, invalid, not positive) packed in one
    # integer. Stability keeps table order on ties, and sources keep their first-appearance
    # order (codes count from 0 in that order).
    group = codes.astype(np.int64) * 4 + invalid * 2 + not_positive
    order = np.argsort(radius_key, kind="stable")
    order = order[np.argsort(group[order], kind="stable")]
    sorted_codes = codes[order]
    first = np.ones(order.size, dtype=bool)
    first[1:] = sorted_codes[1:] != sorted_codes[:-1]
    chosen = order[first]

    best = df.iloc[chosen].reset_index(drop=True)
    best["n_obs"] = np.bincount(codes)[codes[chosen]]
    n_no_radius = int(np.isnan(radius[chosen]).sum())
    if n_no_radius:
        warnings.warn(
            f"{n_no_radius} of {chosen.size} sources have no 2-sigma radius (pu_2sigma NaN in "
            "their best observation): they have no search circle; give them one with "
            "positional_uncertainty's fallback ('ellipse' needs err_r0, 'zero' uses the "
            "alignment scatter alone)",
            errors.XrbidWarning,
            stacklevel=2,
        )
    return best


def merge_optical_catalogs(
    catalogs: Mapping[str, pd.DataFrame], tolerance: Any = 0.1
) -> pd.DataFrame:
    """Join per-filter optical catalogues into one row per object, matching by position.

    Filters are taken in the order given. Each source of a later filter is matched to the
    nearest object found so far within ``tolerance``; when several claim the same object, the
    closest wins and the others become new objects, so each object holds at most one source
    per filter.

    Parameters
    ----------
    catalogs : mapping of str to pandas.DataFrame
        ``{filter name: catalogue}``; each catalogue has ``ra`` and ``dec`` in degrees.
    tolerance : float, str or Quantity
        Largest separation for two detections to be the same object (float = arcsec).

    Returns
    -------
    pandas.DataFrame
        One row per object: ``ra``, ``dec`` (from the first filter that detected it),
        ``n_filters``, and for each filter ``ra_<filter>``, ``dec_<filter>`` and its other
        columns suffixed ``_<filter>`` (a column whose name already ends with ``_<filter>``,
        such as ``mag_f555w``, keeps its name). Absent detections are NaN.

    Examples
    --------
    >>> import pandas as pd
    >>> f555w = pd.DataFrame({"ra": [10.0, 10.01], "dec": [20.0, 20.0], "mag": [22.1, 23.0]})
    >>> f814w = pd.DataFrame({"ra": [10.00001], "dec": [20.0], "mag": [21.5]})
    >>> m = merge_optical_catalogs({"f555w": f555w, "f814w": f814w}, tolerance=0.1)
    >>> m[["mag_f555w", "mag_f814w", "n_filters"]].to_numpy().tolist()
    [[22.1, 21.5, 2.0], [23.0, nan, 1.0]]
    """
    if not catalogs:
        raise InputError("no optical catalogue given; give at least one {filter: table}")
    tol = to_arcsec(tolerance, what="merge tolerance")
    if not tol >= 0:
        raise InputError(f"merge tolerance must be >= 0 arcsec, got {tolerance!r}")

    merged_ra = np.array([], dtype=float)
    merged_dec = np.array([], dtype=float)
    assignments: dict[str, np.ndarray] = {}
    for name, cat in catalogs.items():
        ra, dec = sky_positions(cat, f"optical catalogue '{name}'")
        idx, sep = match_nearest(ra, dec, merged_ra, merged_dec, tol)
        # One source per filter per object: where several claim one object, the closest wins.
        claimed = np.flatnonzero(idx >= 0)
        by_sep = claimed[np.argsort(sep[claimed], kind="stable")]
        losers = by_sep[pd.Series(idx[by_sep]).duplicated().to_numpy()]
        idx[losers] = -1
        new = idx < 0
        idx[new] = merged_ra.size + np.arange(int(new.sum()))
        merged_ra = np.concatenate([merged_ra, ra[new]])
        merged_dec = np.concatenate([merged_dec, dec[new]])
        assignments[name] = idx

    n = merged_ra.size
    columns: dict[str, Any] = {"ra": merged_ra, "dec": merged_dec}
    detected = np.zeros(n, dtype=int)
    for name, cat in catalogs.items():
        idx = assignments[name]
        detected[idx] += 1
        for col in cat.columns:
            keeps_name = col not in ("ra", "dec") and str(col).lower().endswith(f"_{name}".lower())
            target = col if keeps_name else f"{col}_{name}"
            if target in columns:
                raise InputError(
                    f"merging gives two columns named '{target}'; rename the column '{col}' "
                    f"of catalogue '{name}'"
                )
            values = cat[col].to_numpy()
            if values.dtype.kind in "biuf":
                full = np.full(n, np.nan)
            else:
                full = np.full(n, None, dtype=object)
            full[idx] = values
            columns[target] = full
    columns["n_filters"] = detected
    return pd.DataFrame(columns)


def find_counterparts(
    xray: pd.DataFrame,
    optical: pd.DataFrame,
    *,
    radius_column: str = "pu_2sigma",
    also: Sequence[str] = ("pu_1sigma",),
) -> pd.DataFrame:
    """Every optical source inside each X-ray source's radius: the counterpart candidates.

    Parameters
    ----------
    xray : pandas.DataFrame
        X-ray sources (usually `best_observations`) with ``source_id``, ``ra``, ``dec`` (deg)
        and the radius columns (arcsec).
    optical : pandas.DataFrame
        Optical sources with ``ra`` and ``dec`` (deg); merge several filters first with
        `merge_optical_catalogs`.
    radius_column : str
        The search radius of each X-ray source.
    also : sequence of str
        Further radius columns; each gives a flag ``inside_<name>`` (``pu_1sigma`` gives
        ``inside_1sigma``).

    Returns
    -------
    pandas.DataFrame
        One row per (X-ray source, optical source) pair within the radius, ordered by X-ray
        source then separation: ``source_id``, ``xray_ra``, ``xray_dec``, the radius columns,
        ``optical_index`` (row number in ``optical``), the optical ``ra``, ``dec`` and other
        columns (an optical ``source_id`` becomes ``optical_id``), ``separation`` (arcsec),
        ``separation_sigma`` (separation in units of the source's ``pu_1sigma``, when the
        X-ray table has it), the ``inside_*`` flags, ``rank`` (1 = nearest) and
        ``n_candidates`` of the X-ray source.

    Raises
    ------
    ColumnError
        If a table lacks its coordinates, the source ID or a radius column.

    Examples
    --------
    >>> import pandas as pd
    >>> x = pd.DataFrame({"source_id": ["X1"], "ra": [210.8], "dec": [54.35],
    ...                   "pu_1sigma": [0.5], "pu_2sigma": [1.0]})
    >>> o = pd.DataFrame({"ra": [210.8, 210.8], "dec": [54.3502, 54.35001]})
    >>> c = find_counterparts(x, o)
    >>> c[["optical_index", "rank", "inside_1sigma"]].to_numpy().tolist()
    [[1, 1, True], [0, 2, False]]
    """
    codes, _ = _source_codes(xray, "the X-ray table")
    radius_columns = [radius_column, *[c for c in also if c != radius_column]]
    require_columns(
        xray,
        ["ra", "dec"],
        what="the search circles",
        source="the X-ray table",
        hint="give RA/Dec in degrees",
    )
    require_columns(
        xray,
        radius_columns,
        what="the search circles",
        source="the X-ray table",
        hint="add the radii first (xrbid pu / positional_uncertainty)",
    )
    if np.any(np.bincount(codes) > 1):
        warnings.warn(
            "the X-ray table has several rows per source; candidates are listed per row "
            "(pick one row per source first with best_observations / xrbid best)",
            errors.XrbidWarning,
            stacklevel=2,
        )
    xra = numeric_column(xray, "ra")
    xdec = numeric_column(xray, "dec")
    radius = numeric_column(xray, radius_column)
    _check_radii(xray, radius, radius_column)
    ora, odec = sky_positions(optical, "the optical table")

    i1, i2, sep = match_within(xra, xdec, ora, odec, radius)
    if i1.size == 0 and len(xra) and len(ora):
        warnings.warn(
            _nothing_found(xray, xra, xdec, radius, ora, odec), errors.XrbidWarning, stacklevel=2
        )

    out: dict[str, Any] = {
        "source_id": xray["source_id"].to_numpy()[i1],
        "xray_ra": xra[i1],
        "xray_dec": xdec[i1],
    }
    for col in radius_columns:
        out[col] = numeric_column(xray, col)[i1]
    out["optical_index"] = i2
    out["ra"] = ora[i2]
    out["dec"] = odec[i2]
    for col in optical.columns:
        if col in ("ra", "dec"):
            continue
        target = "optical_id" if col == "source_id" else col
        if target in out or target in _CANDIDATE_COLUMNS:
            target = f"optical_{col}"
        out[target] = optical[col].to_numpy()[i2]
    out["separation"] = sep
    if "pu_1sigma" in xray.columns:
        with np.errstate(divide="ignore", invalid="ignore"):
            out["separation_sigma"] = sep / out["pu_1sigma"]
    for col in radius_columns[1:]:
        out[_inside_name(col)] = sep <= out[col]

    starts = np.flatnonzero(np.r_[True, i1[1:] != i1[:-1]]) if i1.size else np.array([], int)
    group_sizes = np.diff(np.r_[starts, i1.size])
    out["rank"] = np.arange(i1.size) - np.repeat(starts, group_sizes) + 1
    out["n_candidates"] = np.repeat(group_sizes, group_sizes)
    return pd.DataFrame(out)


_CANDIDATE_COLUMNS = (
    "separation",
    "separation_sigma",
    "rank",
    "n_candidates",
    "inside_1sigma",
    "inside_2sigma",
)


def _inside_name(column: str) -> str:
    return f"inside_{column.removeprefix('pu_')}"


def write_counterpart_regions(
    candidates: pd.DataFrame,
    path: str | os.PathLike,
    *,
    radius: float = 0.15,
    color: str = "cyan",
    overwrite: bool = False,
) -> Path:
    """Write the candidates as small labelled circles (``<source_id>:<rank>``) for DS9.

    Parameters
    ----------
    candidates : pandas.DataFrame
        Output of `find_counterparts` (``ra``, ``dec``, ``source_id``, ``rank``).
    path : str or path-like
        The region file to write (atomically).
    radius : float
        Circle radius in arcsec.
    color : str
        DS9 colour of the circles.
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        The path written. With no candidates the file holds no region (DS9 loads it as
        such).

    Examples
    --------
    >>> write_counterpart_regions(cands, "m101_candidates.reg")  # doctest: +SKIP
    """
    from ._io import write_text_atomic
    from .regions import DS9_HEADER, write_regions

    require_columns(
        candidates,
        ["ra", "dec", "source_id", "rank"],
        what="the candidate regions",
        source="the candidate table",
        hint="give the output of find_counterparts",
    )
    if len(candidates) == 0:  # a search that found nothing: a region file with no regions
        text = f"{DS9_HEADER}\n# no counterpart candidates\nfk5\n"
        return write_text_atomic(path, text, overwrite=overwrite)
    labelled = pd.DataFrame(
        {
            "ra": candidates["ra"].to_numpy(),
            "dec": candidates["dec"].to_numpy(),
            "label": candidates["source_id"].astype(str).to_numpy()
            + ":"
            + candidates["rank"].astype(str).to_numpy(),
        }
    )
    return write_regions(
        labelled,
        path,
        radius=radius,
        unit="arcsec",
        color=color,
        label_column="label",
        overwrite=overwrite,
    )


def _nothing_found(
    xray: pd.DataFrame,
    xra: np.ndarray,
    xdec: np.ndarray,
    radius: np.ndarray,
    ora: np.ndarray,
    odec: np.ndarray,
) -> str:
    """Say that no circle holds a candidate, which source came nearest, and where both lie."""
    _, sep = match_nearest(xra, xdec, ora, odec)
    ok = np.isfinite(sep)
    if not ok.any():
        return "no optical source lies inside any X-ray circle"
    row = int(np.flatnonzero(ok)[np.argmin(sep[ok])])
    _, text = fields_apart(xra, xdec, ora, odec, "the X-ray table", "the optical table")
    where = f"; the tables do not cover the same field: {text}" if sep[row] > 60.0 else ""
    return (
        f"no optical source lies inside the circle of any of the {len(xra)} X-ray sources: the "
        f"nearest is {sep[row]:.2f} arcsec from {xray['source_id'].iloc[row]} (radius "
        f"{radius[row]:.2f} arcsec); the candidates table is empty{where}"
    )
