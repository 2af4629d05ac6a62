"""Donor masses from the colour-magnitude diagram, and the HMXB / IMXB / LMXB rule.

Each candidate is placed on the CMD in absolute, dereddened magnitudes
(``M = m - A - mu``, ``mu = 5 log10(d / 10 pc)``) and projected onto the nearest segment of the
model isochrones or tracks (straight lines between consecutive model points in the
colour-magnitude plane). The initial mass is interpolated linearly along that segment; its
range is the spread of masses found over the candidate's photometric error box (colour and
magnitude each moved by -1, 0, +1 sigma). The mass class follows the usual XRB donor
division: low (< 3 Msun), intermediate (3-8) and high (>= 8), thresholds configurable.

The X-ray source rule (the XRBID guide's): any high-mass candidate -> HMXB; only
intermediate-mass candidates -> IMXB; otherwise (low, or low and intermediate mixed) -> LMXB;
no stellar candidate -> unclassified. Candidates marked as clusters, foreground stars or
background galaxies in ``object_type`` are left out of the rule.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from xrbid.errors import ColumnError, InputError

from .models import StellarModels

__all__ = [
    "EXCLUDED_TYPES",
    "XRB_CLASSES",
    "classify_sources",
    "distance_modulus",
    "donor_masses",
    "mass_class",
    "model_mass",
]

EXCLUDED_TYPES = ("cluster", "foreground", "background")
XRB_CLASSES = ("HMXB", "IMXB", "LMXB", "unclassified")


def distance_modulus(distance_pc: float) -> float:
    """``5 log10(d / 10 pc)`` for a distance in parsec.

    Examples
    --------
    >>> round(distance_modulus(6.4e6), 3)
    29.031
    """
    if not distance_pc > 0:
        raise InputError(f"distance must be positive, got {distance_pc} pc")
    return float(5.0 * np.log10(distance_pc / 10.0))


def _segments(models: StellarModels, colour: tuple[str, str], mag: str):
    t = models.table
    blue, red, band = models.band(colour[0]), models.band(colour[1]), models.band(mag)
    x = t[blue].to_numpy(float) - t[red].to_numpy(float)
    y = t[band].to_numpy(float)
    mass = t["initial_mass"].to_numpy(float)
    good = np.isfinite(x) & np.isfinite(y) & np.isfinite(mass)
    x, y, mass = x[good], y[good], mass[good]
    model = t["model"].to_numpy()[good]
    if x.size < 2:
        raise InputError(
            f"the models have fewer than 2 points with {colour[0]}, {colour[1]}, {mag}"
        )
    # a segment joins point k to k+1 when both belong to the same isochrone/track
    linked = np.r_[model[1:] == model[:-1], False]
    return np.column_stack([x, y]), mass, linked


def model_mass(
    models: StellarModels,
    colour: np.ndarray,
    magnitude: np.ndarray,
    *,
    colour_bands: tuple[str, str],
    mag_band: str,
    k: int = 24,
) -> tuple[np.ndarray, np.ndarray]:
    """Initial mass at CMD positions, interpolated on the nearest model segment.

    Parameters
    ----------
    models : StellarModels
        Isochrones or tracks (e.g. from `read_models`, optionally ``.select(log_age=...)``).
    colour, magnitude : array_like
        Absolute dereddened colour ``blue - red`` and magnitude, shape (n,).
    colour_bands : (str, str)
        Filters of the colour, e.g. ``("F555W", "F814W")``.
    mag_band : str
        Filter of the magnitude.
    k : int
        Nearest model points searched (their adjacent segments are tried).

    Returns
    -------
    mass : numpy.ndarray
        Interpolated initial mass (Msun), NaN where the position is not finite.
    distance : numpy.ndarray
        Distance (mag) from the position to the nearest model segment.
    """
    pts, mass, linked = _segments(models, colour_bands, mag_band)
    c = np.asarray(colour, float)
    m = np.asarray(magnitude, float)
    shape = c.shape
    q = np.column_stack([c.ravel(), m.ravel()])
    ok = np.all(np.isfinite(q), axis=1)
    out_mass = np.full(q.shape[0], np.nan)
    out_dist = np.full(q.shape[0], np.nan)
    if ok.any():
        kk = min(k, len(pts))
        _, idx = cKDTree(pts).query(q[ok], k=kk)
        idx = idx.reshape(-1, kk)
        # segments (v-1, v) and (v, v+1) of each near vertex v
        starts = np.concatenate([idx - 1, idx], axis=1)
        valid = (starts >= 0) & (starts < len(pts) - 1)
        starts = np.clip(starts, 0, len(pts) - 2)
        valid &= linked[starts]
        a, b = pts[starts], pts[starts + 1]
        ab = b - a
        p = q[ok][:, None, :]
        len2 = np.sum(ab**2, axis=2)
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(len2 > 0, np.sum((p - a) * ab, axis=2) / len2, 0.0)
        t = np.clip(t, 0.0, 1.0)
        proj = a + t[..., None] * ab
        d2 = np.sum((p - proj) ** 2, axis=2)
        # single points (no valid segment) are still candidates: the vertex itself
        vd2 = np.sum((p[:, 0, :] - pts[idx[:, 0]]) ** 2, axis=1)
        d2 = np.where(valid, d2, np.inf)
        best = np.argmin(d2, axis=1)
        rows = np.arange(len(best))
        seg_d2 = d2[rows, best]
        s = starts[rows, best]
        seg_mass = mass[s] + t[rows, best] * (mass[s + 1] - mass[s])
        use_vertex = ~(seg_d2 <= vd2)
        out_mass[ok] = np.where(use_vertex, mass[idx[:, 0]], seg_mass)
        out_dist[ok] = np.sqrt(np.where(use_vertex, vd2, seg_d2))
    return out_mass.reshape(shape), out_dist.reshape(shape)


def mass_class(mass: np.ndarray, limits: tuple[float, float] = (3.0, 8.0)) -> np.ndarray:
    """``"low"`` (< limits[0]), ``"intermediate"``, ``"high"`` (>= limits[1]); ``""`` for NaN.

    Examples
    --------
    >>> mass_class(np.array([1.0, 3.0, 7.9, 8.0, np.nan])).tolist()
    ['low', 'intermediate', 'intermediate', 'high', '']
    """
    lo, hi = (float(x) for x in limits)
    if not 0 < lo < hi:
        raise InputError(f"mass limits must be 0 < low < high, got {limits}")
    m = np.asarray(mass, float)
    return np.select(
        [m < lo, (m >= lo) & (m < hi), m >= hi], ["low", "intermediate", "high"], ""
    ).astype(object)


def donor_masses(
    candidates: pd.DataFrame,
    models: StellarModels,
    *,
    colour: tuple[str, str],
    mag: str,
    distance_modulus: float,
    limits: tuple[float, float] = (3.0, 8.0),
    max_distance: float = 1.0,
    dered: bool = True,
) -> pd.DataFrame:
    """Initial mass, its range and mass class of each candidate.

    Parameters
    ----------
    candidates : pandas.DataFrame
        With ``<f>_mag_dered`` (or ``<f>_mag`` when ``dered`` is false) and ``<f>_mag_err`` for
        the colour filters and the magnitude filter (lower-case filter names).
    models : StellarModels
        Isochrones or tracks with the same bands.
    colour : (str, str)
        Blue and red filter of the CMD colour, e.g. ``("F555W", "F814W")``.
    mag : str
        Filter of the CMD magnitude.
    distance_modulus : float
        mu = m - M (mag).
    limits : (float, float)
        Low/intermediate and intermediate/high mass limits (Msun).
    max_distance : float
        Candidates further than this (mag) from every model segment get no mass.
    dered : bool
        Use the dereddened magnitudes (`xrbid.photometry.extinction.deredden`).

    Returns
    -------
    pandas.DataFrame
        A copy with ``abs_mag`` and ``abs_colour`` (the CMD position), ``mass``, ``mass_min``,
        ``mass_max`` (Msun), ``cmd_distance`` (mag) and ``mass_class``.

    Raises
    ------
    ColumnError
        Missing magnitude columns.
    InputError
        A distance modulus that is not finite or a negative ``max_distance``.
    """
    if not np.isfinite(distance_modulus):
        raise InputError(f"the distance modulus must be a finite number, got {distance_modulus}")
    if not max_distance >= 0:
        raise InputError(f"the largest CMD distance must be >= 0 mag, got {max_distance}")
    suffix = "_mag_dered" if dered else "_mag"
    blue, red, band = (f.lower() for f in (*colour, mag))
    need = [f"{f}{suffix}" for f in (blue, red, band)]
    missing = [c for c in need if c not in candidates.columns]
    if missing:
        hint = " (deredden first: --ebv)" if dered else ""
        raise ColumnError(f"the candidates table lacks {', '.join(missing)}{hint}")

    def col(name: str) -> np.ndarray:
        if name not in candidates.columns:
            return np.zeros(len(candidates))
        return np.nan_to_num(pd.to_numeric(candidates[name], errors="coerce").to_numpy(float))

    mb, mr, mm = (candidates[c].to_numpy(float) for c in need)
    eb, er, em = (col(f"{f}_mag_err") for f in (blue, red, band))
    c0 = mb - mr
    m0 = mm - float(distance_modulus)
    ec = np.hypot(eb, er)
    offsets = np.array([(i, j) for i in (-1, 0, 1) for j in (-1, 0, 1)], float)
    cc = c0[:, None] + offsets[None, :, 0] * ec[:, None]
    mmag = m0[:, None] + offsets[None, :, 1] * em[:, None]
    masses, dist = model_mass(models, cc, mmag, colour_bands=(colour[0], colour[1]), mag_band=mag)
    centre = 4  # the (0, 0) offset
    mass = masses[:, centre]
    d = dist[:, centre]
    far = ~(d <= max_distance)
    mass = np.where(far, np.nan, mass)
    out = candidates.copy()
    out["abs_colour"] = c0
    out["abs_mag"] = m0
    out["mass"] = mass
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        # a candidate without a magnitude has no mass at any offset: NaN, not a warning
        warnings.simplefilter("ignore", RuntimeWarning)
        out["mass_min"] = np.where(far, np.nan, np.nanmin(masses, axis=1))
        out["mass_max"] = np.where(far, np.nan, np.nanmax(masses, axis=1))
    out["cmd_distance"] = d
    out["mass_class"] = mass_class(mass, limits)
    return out


def classify_sources(
    candidates: pd.DataFrame,
    *,
    class_column: str = "mass_class",
    type_column: str = "object_type",
    sources: pd.Series | np.ndarray | list | None = None,
) -> pd.DataFrame:
    """The XRB class of each X-ray source from its candidates' mass classes.

    Parameters
    ----------
    candidates : pandas.DataFrame
        ``source_id`` and ``class_column`` (``"low"``, ``"intermediate"``, ``"high"``, or
        empty for no mass), optionally ``type_column``: rows whose type is ``cluster``,
        ``foreground`` or ``background`` are left out.
    class_column, type_column : str
        Column names.
    sources : sequence, optional
        All source IDs to report (sources without candidates are ``unclassified``).

    Returns
    -------
    pandas.DataFrame
        ``source_id``, ``n_low``, ``n_intermediate``, ``n_high``, ``n_excluded`` and
        ``xrb_class`` (HMXB, IMXB, LMXB or unclassified).

    Examples
    --------
    >>> c = pd.DataFrame({"source_id": ["A", "A", "B", "C", "C"],
    ...                   "mass_class": ["low", "high", "intermediate", "low", "intermediate"]})
    >>> classify_sources(c)["xrb_class"].tolist()
    ['HMXB', 'IMXB', 'LMXB']
    """
    for colname in ("source_id", class_column):
        if colname not in candidates.columns:
            raise ColumnError(f"the candidates table lacks {colname!r}")
    cls = candidates[class_column].fillna("").astype(str).str.strip().str.lower()
    if type_column in candidates.columns:
        kind = candidates[type_column].fillna("").astype(str).str.strip().str.lower()
        excluded = kind.isin(EXCLUDED_TYPES).to_numpy()
    else:
        excluded = np.zeros(len(candidates), bool)
    ids = candidates["source_id"].to_numpy()
    frame = pd.DataFrame(
        {
            "source_id": ids,
            "n_low": ((cls == "low").to_numpy() & ~excluded).astype(int),
            "n_intermediate": ((cls == "intermediate").to_numpy() & ~excluded).astype(int),
            "n_high": ((cls == "high").to_numpy() & ~excluded).astype(int),
            "n_excluded": excluded.astype(int),
        }
    )
    per = frame.groupby("source_id", sort=False).sum()
    if sources is not None:
        order = pd.Index(pd.unique(np.asarray(list(sources), dtype=object)))
        per = per.reindex(per.index.append(order.difference(per.index, sort=False))).fillna(0)
        per = per.loc[order].astype(int)
    xrb = np.select(
        [
            per["n_high"] > 0,
            (per["n_intermediate"] > 0) & (per["n_low"] == 0),
            per["n_low"] > 0,
        ],
        ["HMXB", "IMXB", "LMXB"],
        "unclassified",
    )
    out = per.reset_index().rename(columns={"index": "source_id"})
    out["xrb_class"] = xrb
    return out
