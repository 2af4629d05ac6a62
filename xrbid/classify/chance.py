"""Chance coincidences: how many unrelated optical sources fall inside an X-ray error circle.

For each X-ray source the local surface density of optical sources is counted in an annulus
around it, leaving out the 2-sigma circles of all X-ray sources (they may hold real
counterparts) and, when a footprint is known, the area outside the optical image. With
``rho`` that density, an unrelated source population of Poisson statistics puts on average
``N = pi r^2 rho`` sources inside a circle of radius ``r``, and at least one with probability
``P(>=1) = 1 - exp(-N)`` (the chance-coincidence estimate used for HST counterparts of
extragalactic XRBs, e.g. Kaaret 2005, ApJ 629, 233; Chandar et al. 2020, ApJ 890, 150).

Field-wide, the false-match rate is measured directly by shifting the X-ray catalogue by
random offsets inside the optical footprint and counting how often a shifted circle contains
an optical source (the "shifted catalogue" test, e.g. Hunt et al. 2021, ApJ 912, 31).

Coordinates are projected on one tangent plane about the field centre (arcsec); fine for a
galaxy-sized field (distortion < 1e-6 relative over 1 degree).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import ConvexHull, cKDTree

from xrbid.errors import ColumnError, InputError
from xrbid.sky import centroid, tangent_plane

__all__ = [
    "FalseMatchRate",
    "candidate_chance",
    "chance_coincidences",
    "false_match_rate",
    "local_density",
]

_GOLDEN_ANGLE = np.pi * (3.0 - np.sqrt(5.0))
Footprint = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _numbers(df: pd.DataFrame, column: str, what: str) -> np.ndarray:
    if column not in df.columns:
        raise ColumnError(f"{what} lacks column {column!r}")
    values = pd.to_numeric(df[column], errors="coerce").to_numpy(float)
    return values


class _Field:
    """X-ray and optical positions on one tangent plane, the exclusion circles, the footprint."""

    def __init__(
        self,
        xray: pd.DataFrame,
        optical: pd.DataFrame,
        radius_column: str,
        footprint: Any,
    ) -> None:
        xra = _numbers(xray, "ra", "the X-ray table")
        xdec = _numbers(xray, "dec", "the X-ray table")
        ora = _numbers(optical, "ra", "the optical table")
        odec = _numbers(optical, "dec", "the optical table")
        if not len(ora):
            raise InputError("the optical table is empty: no density can be measured")
        self.ra0, self.dec0 = centroid(np.r_[xra, ora], np.r_[xdec, odec])
        self.x = np.column_stack(tangent_plane(xra, xdec, self.ra0, self.dec0))
        self.o = np.column_stack(tangent_plane(ora, odec, self.ra0, self.dec0))
        radius = _numbers(xray, radius_column, "the X-ray table")
        self.radius = np.where(np.isfinite(radius) & (radius > 0), radius, 0.0)
        self.xtree = cKDTree(self.x)
        self.excluded = self._inside_xray_circles(self.o)
        self.inside, self.footprint_area = self._footprint(footprint)
        # optical sources lie inside their own hull by definition; a user footprint may cut
        self.cut_optical = callable(footprint)

    def _inside_xray_circles(self, points: np.ndarray) -> np.ndarray:
        """Boolean per point: inside any X-ray exclusion circle."""
        rmax = float(self.radius.max(initial=0.0))
        if rmax <= 0 or not len(points):
            return np.zeros(len(points), bool)
        # most points are far from every circle: one nearest-neighbour pass finds the few
        # within the largest radius, and only those are checked against several circles
        d1, _ = self.xtree.query(points, k=1, distance_upper_bound=rmax)
        near = np.flatnonzero(np.isfinite(d1))
        out = np.zeros(len(points), bool)
        if near.size:
            k = min(16, len(self.x))
            d, idx = self.xtree.query(points[near], k=k, distance_upper_bound=rmax)
            d = d.reshape(near.size, -1)
            idx = idx.reshape(near.size, -1)
            valid = idx < len(self.x)
            r = np.where(valid, self.radius[np.minimum(idx, len(self.x) - 1)], -1.0)
            out[near] = np.any(valid & (d < r), axis=1)
        return out

    def _footprint(self, footprint: Any) -> tuple[Footprint, float]:
        if footprint is False or footprint == "none":
            return (lambda x, y: np.ones(np.shape(x), bool)), np.inf
        if callable(footprint):
            ra0, dec0 = self.ra0, self.dec0

            def inside(x: np.ndarray, y: np.ndarray) -> np.ndarray:
                from xrbid.sky import from_tangent_plane

                ra, dec = from_tangent_plane(x, y, ra0, dec0)
                return np.asarray(footprint(ra, dec), bool)

            return inside, np.nan
        if footprint not in (None, "hull"):
            raise InputError(
                "footprint must be None/'hull', 'none' or a function (ra, dec) -> bool"
            )
        if len(self.o) < 3:
            raise InputError("at least 3 optical sources are needed to outline the footprint")
        hull = ConvexHull(self.o)
        normals, offsets = hull.equations[:, :2], hull.equations[:, 2]

        def inside_hull(x: np.ndarray, y: np.ndarray) -> np.ndarray:
            # inside a convex hull: on the inner side of every facet (a small tolerance keeps
            # the hull's own vertices inside)
            pts = np.column_stack([np.ravel(x), np.ravel(y)])
            inside = np.all(pts @ normals.T + offsets <= 1e-9, axis=1)
            return inside.reshape(np.shape(x))

        return inside_hull, float(hull.volume)

    def usable_fraction(self, centres: np.ndarray, r_in: np.ndarray, r_out: float, n: int):
        """Fraction of each annulus inside the footprint and outside the X-ray circles."""
        k = np.arange(n) + 0.5
        # sunflower points: uniform in area over the annulus, deterministic
        frac = k / n
        theta = k * _GOLDEN_ANGLE
        rr = np.sqrt(r_in[:, None] ** 2 + frac[None, :] * (r_out**2 - r_in[:, None] ** 2))
        px = centres[:, 0, None] + rr * np.cos(theta)[None, :]
        py = centres[:, 1, None] + rr * np.sin(theta)[None, :]
        ok = self.inside(px, py)
        ok &= ~self._inside_xray_circles(np.column_stack([px.ravel(), py.ravel()])).reshape(
            px.shape
        )
        return ok.mean(axis=1)


def _annulus_pairs(field: _Field, r_in: np.ndarray, r_out: float):
    """(source index, optical index) of optical sources counted in each source's annulus."""
    otree = cKDTree(field.o)
    pairs = field.xtree.sparse_distance_matrix(otree, r_out, output_type="ndarray")
    i, j, d = pairs["i"], pairs["j"], pairs["v"]
    keep = (d >= r_in[i]) & (d <= r_out) & ~field.excluded[j]
    if field.cut_optical:
        keep &= field.inside(field.o[j, 0], field.o[j, 1])
    return i[keep], j[keep]


def _density(field: _Field, annulus: tuple[float, float], n_area: int):
    """Annulus pairs (source, optical), counts and usable areas of every source."""
    r_in0, r_out = (float(a) for a in annulus)
    if not 0 <= r_in0 < r_out:
        raise InputError(f"annulus must be (inner, outer) with 0 <= inner < outer, got {annulus}")
    r_in = np.maximum(r_in0, field.radius)
    if np.any(r_in >= r_out):
        raise InputError(
            f'the outer annulus radius {r_out}" is inside some X-ray circles; use a larger one'
        )
    pairs = _annulus_pairs(field, r_in, r_out)
    n = np.bincount(pairs[0], minlength=len(field.x))
    area = np.pi * (r_out**2 - r_in**2) * field.usable_fraction(field.x, r_in, r_out, n_area)
    return pairs, n, area


def local_density(
    xray: pd.DataFrame,
    optical: pd.DataFrame,
    *,
    annulus: tuple[float, float] = (5.0, 20.0),
    exclude_column: str = "pu_2sigma",
    footprint: Any = None,
    n_area: int = 1024,
) -> pd.DataFrame:
    """Surface density of optical sources around each X-ray source, with its Poisson error.

    Parameters
    ----------
    xray : pandas.DataFrame
        One row per X-ray source: ``source_id``, ``ra``, ``dec`` (deg), ``exclude_column``.
    optical : pandas.DataFrame
        All optical sources of the field: ``ra``, ``dec`` (deg).
    annulus : (float, float)
        Inner and outer radius in arcsec. The inner radius is raised to a source's own
        exclusion radius where that is larger.
    exclude_column : str
        Radius (arcsec) of the X-ray circles left out of every annulus (default: 2 sigma).
    footprint : None, "hull", "none" or callable
        Where the optical catalogue exists: the convex hull of the optical sources (default),
        no limit, or a function ``(ra, dec) -> bool`` (e.g. from the image's WCS and shape).
    n_area : int
        Number of sample points per annulus for its usable area (quasi-random; the area's
        relative error is ~1/n_area).

    Returns
    -------
    pandas.DataFrame
        Per source: ``source_id``, ``n_annulus`` (optical sources counted), ``annulus_area``
        (usable area, arcsec^2), ``density`` and ``density_err`` (= sqrt(n)/area,
        arcsec^-2).

    Raises
    ------
    ColumnError
        Missing coordinates or radius column.
    InputError
        An empty optical table, or an annulus with inner >= outer radius.
    """
    field = _Field(xray, optical, exclude_column, footprint)
    _, n, area = _density(field, annulus, n_area)
    with np.errstate(divide="ignore", invalid="ignore"):
        density = np.where(area > 0, n / area, np.nan)
        err = np.where(area > 0, np.sqrt(n) / area, np.nan)
    out = pd.DataFrame(
        {"n_annulus": n, "annulus_area": area, "density": density, "density_err": err}
    )
    if "source_id" in xray.columns:
        out.insert(0, "source_id", xray["source_id"].to_numpy())
    return out


def chance_coincidences(
    xray: pd.DataFrame,
    optical: pd.DataFrame,
    *,
    annulus: tuple[float, float] = (5.0, 20.0),
    footprint: Any = None,
    n_area: int = 1024,
) -> pd.DataFrame:
    """Expected unrelated optical sources inside each 1-sigma and 2-sigma circle.

    ``N = pi r^2 rho`` with ``rho`` from `local_density`, its error from rho's Poisson error,
    and ``P(>=1) = 1 - exp(-N)``.

    Parameters
    ----------
    xray : pandas.DataFrame
        ``source_id``, ``ra``, ``dec``, ``pu_1sigma``, ``pu_2sigma`` (arcsec).
    optical, annulus, footprint, n_area
        See `local_density`.

    Returns
    -------
    pandas.DataFrame
        `local_density` columns plus ``n_chance_1sigma``, ``n_chance_1sigma_err``,
        ``p_chance_1sigma``, ``n_chance_2sigma``, ``n_chance_2sigma_err``,
        ``p_chance_2sigma``.
    """
    out = local_density(xray, optical, annulus=annulus, footprint=footprint, n_area=n_area)
    for level in ("1sigma", "2sigma"):
        r = _numbers(xray, f"pu_{level}", "the X-ray table")
        circle = np.pi * r**2
        out[f"n_chance_{level}"] = circle * out["density"].to_numpy()
        out[f"n_chance_{level}_err"] = circle * out["density_err"].to_numpy()
        out[f"p_chance_{level}"] = -np.expm1(-out[f"n_chance_{level}"].to_numpy())
    return out


def candidate_chance(
    candidates: pd.DataFrame,
    xray: pd.DataFrame,
    optical: pd.DataFrame,
    *,
    mag_column: str | None = None,
    radius_column: str = "pu_2sigma",
    annulus: tuple[float, float] = (5.0, 20.0),
    footprint: Any = None,
    n_area: int = 1024,
) -> pd.DataFrame:
    """Chance-coincidence numbers per candidate, optionally magnitude-limited.

    With ``mag_column``, only optical sources at least as bright as the candidate count
    towards the density: ``N(<=m) = pi r^2 rho(<=m)``, the number of unrelated sources as
    bright as the candidate expected inside the circle.

    Parameters
    ----------
    candidates : pandas.DataFrame
        ``source_id`` of the X-ray source of each candidate (and ``mag_column``).
    xray : pandas.DataFrame
        One row per source: ``source_id``, ``ra``, ``dec``, ``radius_column``, ``pu_2sigma``.
    optical : pandas.DataFrame
        All optical sources with ``ra``, ``dec`` (and ``mag_column``).
    mag_column : str, optional
        Magnitude column present in both tables (e.g. ``f555w_mag``).
    radius_column : str
        The circle the candidates were selected in.
    annulus, footprint, n_area
        See `local_density`.

    Returns
    -------
    pandas.DataFrame
        A copy of ``candidates`` with ``annulus_area`` (usable area, arcsec^2),
        ``local_density`` (all optical sources, arcsec^-2),
        ``density`` (of the sources as bright as the candidate when magnitude-limited, else
        the same), ``n_chance`` and ``p_chance``.

    Raises
    ------
    ColumnError
        A missing ``source_id``, radius or magnitude column; candidates of unknown sources.
    """
    for df, what in ((candidates, "the candidates table"), (xray, "the X-ray table")):
        if "source_id" not in df.columns:
            raise ColumnError(f"{what} lacks source_id")
    field = _Field(xray, optical, "pu_2sigma", footprint)
    (i, j), n, area_src = _density(field, annulus, n_area)
    src_ids = xray["source_id"].astype(str).to_numpy()
    lookup = pd.Series(np.arange(len(src_ids)), index=src_ids)
    if lookup.index.has_duplicates:
        raise InputError("the X-ray table has several rows per source; keep one (xrbid best)")
    k = lookup.reindex(candidates["source_id"].astype(str).to_numpy()).to_numpy()
    if np.any(np.isnan(k)):
        raise ColumnError("some candidates belong to sources missing from the X-ray table")
    k = k.astype(int)
    r = _numbers(xray, radius_column, "the X-ray table")[k]
    area = area_src[k]
    if mag_column is None:
        counts = n[k].astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            density = np.where(area > 0, counts / area, np.nan)
    else:
        cand_mag = _numbers(candidates, mag_column, "the candidates table")
        opt_mag = _numbers(optical, mag_column, "the optical table")
        m = opt_mag[j]
        good = np.isfinite(m)
        i, m = i[good], m[good]
        lo = np.nanmin(np.r_[m, cand_mag, 0.0])
        span = np.nanmax(np.r_[m, cand_mag, 0.0]) - lo + 1.0
        keys = np.sort(i * span + (m - lo))
        starts = np.searchsorted(keys, np.arange(len(src_ids)) * span)
        with np.errstate(invalid="ignore"):
            counts = np.searchsorted(keys, k * span + (cand_mag - lo), side="right") - starts[k]
        with np.errstate(divide="ignore", invalid="ignore"):
            density = np.where(np.isfinite(cand_mag) & (area > 0), counts / area, np.nan)
    out = candidates.copy()
    out["annulus_area"] = area
    with np.errstate(divide="ignore", invalid="ignore"):
        out["local_density"] = np.where(area > 0, n[k] / area, np.nan)
    out["density"] = density
    out["n_chance"] = np.pi * r**2 * density
    out["p_chance"] = -np.expm1(-out["n_chance"].to_numpy())
    return out


@dataclass
class FalseMatchRate:
    """The field-wide false-match rate from shifted X-ray catalogues.

    Attributes
    ----------
    rate : float
        Fraction of shifted circles holding at least one optical source.
    rate_err : float
        Its binomial error.
    expected : float
        The same fraction predicted from the field density, mean of ``1 - exp(-pi r^2 rho)``.
    density : float
        Field density of optical sources outside the X-ray circles (arcsec^-2).
    n_trials : int
        Shifted circles inside the footprint.
    n_matched : int
        Of those, how many hold an optical source.
    n_shifts : int
        Number of shifted catalogues.
    """

    rate: float
    rate_err: float
    expected: float
    density: float
    n_trials: int
    n_matched: int
    n_shifts: int

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dictionary (for JSON)."""
        return asdict(self)


def false_match_rate(
    xray: pd.DataFrame,
    optical: pd.DataFrame,
    *,
    n_shifts: int = 100,
    shift: tuple[float, float] = (10.0, 60.0),
    radius_column: str = "pu_2sigma",
    footprint: Any = None,
    seed: int | None = 0,
) -> FalseMatchRate:
    """False-match rate of the field from ``n_shifts`` randomly shifted X-ray catalogues.

    Each catalogue is the X-ray table moved as a whole by a random offset (uniform in area
    between ``shift[0]`` and ``shift[1]`` arcsec, random direction). Shifted circles outside
    the footprint are dropped; optical sources inside the real X-ray circles do not count.

    Parameters
    ----------
    xray, optical : pandas.DataFrame
        See `local_density`.
    n_shifts : int
        Number of shifted catalogues.
    shift : (float, float)
        Smallest and largest offset (arcsec); the smallest should exceed the largest radius.
    radius_column : str
        Circle radius (arcsec).
    footprint
        See `local_density`; needed (not ``"none"``) for the expected rate.
    seed : int or None
        Random seed (reproducible by default).

    Returns
    -------
    FalseMatchRate
    """
    lo, hi = (float(s) for s in shift)
    if not 0 <= lo < hi:
        raise InputError(f"shift must be (min, max) arcsec with 0 <= min < max, got {shift}")
    if n_shifts < 1:
        raise InputError("n_shifts must be at least 1")
    field = _Field(xray, optical, radius_column, footprint)
    rng = np.random.default_rng(seed)
    d = np.sqrt(rng.uniform(lo**2, hi**2, n_shifts))
    angle = rng.uniform(0, 2 * np.pi, n_shifts)
    offsets = np.column_stack([d * np.cos(angle), d * np.sin(angle)])
    pts = (field.x[None, :, :] + offsets[:, None, :]).reshape(-1, 2)
    radii = np.tile(field.radius, n_shifts)
    ok = field.inside(pts[:, 0], pts[:, 1]) & (radii > 0)
    usable = field.o[~field.excluded]
    if field.cut_optical and len(usable):
        usable = usable[field.inside(usable[:, 0], usable[:, 1])]
    tree = cKDTree(usable) if len(usable) else None
    if tree is None or not ok.any():
        counts = np.zeros(int(ok.sum()), int)
    else:
        counts = tree.query_ball_point(pts[ok], r=radii[ok], return_length=True)
    n_trials = int(ok.sum())
    n_matched = int(np.count_nonzero(counts))
    rate = n_matched / n_trials if n_trials else np.nan
    rate_err = np.sqrt(rate * (1 - rate) / n_trials) if n_trials else np.nan
    area = field.footprint_area
    if np.isfinite(area) and area > 0:
        circles = np.pi * field.radius**2
        # area of the real X-ray circles inside the footprint (their overlaps neglected)
        x_in = field.inside(field.x[:, 0], field.x[:, 1])
        free_area = area - float(np.sum(circles[x_in]))
        density = len(usable) / free_area
        expected = (
            float(np.mean(-np.expm1(-np.pi * radii[ok] ** 2 * density))) if n_trials else np.nan
        )
    else:
        density, expected = np.nan, np.nan
    return FalseMatchRate(
        rate=float(rate),
        rate_err=float(rate_err),
        expected=expected,
        density=float(density),
        n_trials=n_trials,
        n_matched=n_matched,
        n_shifts=int(n_shifts),
    )
