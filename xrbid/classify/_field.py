"""The geometry shared by the chance-coincidence estimates: one tangent plane, the X-ray
exclusion circles, the optical footprint and the annuli."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import ConvexHull, cKDTree

from xrbid.errors import ColumnError, InputError
from xrbid.sky import centroid, tangent_plane

_GOLDEN_ANGLE = np.pi * (3.0 - np.sqrt(5.0))
Footprint = Callable[[np.ndarray, np.ndarray], np.ndarray]


def numeric_column(df: pd.DataFrame, column: str, what: str) -> np.ndarray:
    if column not in df.columns:
        raise ColumnError(f"{what} lacks column {column!r}")
    values = pd.to_numeric(df[column], errors="coerce").to_numpy(float)
    return values


class Field:
    """X-ray and optical positions on one tangent plane, the exclusion circles, the footprint."""

    def __init__(
        self,
        xray: pd.DataFrame,
        optical: pd.DataFrame,
        radius_column: str,
        footprint: Any,
    ) -> None:
        xra = numeric_column(xray, "ra", "the X-ray table")
        xdec = numeric_column(xray, "dec", "the X-ray table")
        ora = numeric_column(optical, "ra", "the optical table")
        odec = numeric_column(optical, "dec", "the optical table")
        if not len(ora):
            raise InputError("the optical table is empty: no density can be measured")
        self.ra0, self.dec0 = centroid(np.r_[xra, ora], np.r_[xdec, odec])
        self.x = np.column_stack(tangent_plane(xra, xdec, self.ra0, self.dec0))
        self.o = np.column_stack(tangent_plane(ora, odec, self.ra0, self.dec0))
        radius = numeric_column(xray, radius_column, "the X-ray table")
        self.radius = np.where(np.isfinite(radius) & (radius > 0), radius, 0.0)
        self.xtree = cKDTree(self.x)
        self.excluded = self._inside_xray_circles(self.o)
        self.hull_equations: np.ndarray | None = None
        self.inside, self.footprint_area = self._footprint(footprint)
        # optical sources lie inside their own hull by definition; a user footprint may cut
        self.cut_optical = callable(footprint)

    def overlaps_xray(self, points: np.ndarray, radius: np.ndarray) -> np.ndarray:
        """Boolean per circle (centre ``points``, ``radius``): overlaps an X-ray circle."""
        return self._inside_xray_circles(points, grow=radius)

    def _inside_xray_circles(self, points: np.ndarray, grow: Any = 0.0) -> np.ndarray:
        """Boolean per point: inside any X-ray exclusion circle (each grown by ``grow``;
        a circle of radius ``grow`` about the point then overlaps it)."""
        grow = np.broadcast_to(np.asarray(grow, float), (len(points),))
        rmax = float(self.radius.max(initial=0.0)) + float(grow.max(initial=0.0))
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
            out[near] = np.any(valid & (d < r + grow[near, None]), axis=1)
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
        # unit outward normals n and offsets c: n.p + c is the signed distance to a facet line
        self.hull_equations = hull.equations

        def inside_hull(x: np.ndarray, y: np.ndarray) -> np.ndarray:
            # inside a convex hull: on the inner side of every facet line (a small tolerance
            # keeps the hull's own vertices inside); one vectorised pass per facet
            x, y = np.asarray(x, float), np.asarray(y, float)
            inside = np.ones(np.shape(x), bool)
            for nx, ny, c in self.hull_equations:
                inside &= nx * x + ny * y + c <= 1e-9
            return inside

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
        ok = np.ones(px.shape, bool)
        edge = np.ones(len(centres), bool)
        if self.hull_equations is not None:
            # annuli whose centre lies deeper inside the hull than r_out need no point test
            depth = -(centres @ self.hull_equations[:, :2].T + self.hull_equations[:, 2])
            edge = depth.min(axis=1, initial=np.inf) < r_out
        if edge.any():
            ok[edge] = self.inside(px[edge], py[edge])
        ok &= ~self._inside_xray_circles(np.column_stack([px.ravel(), py.ravel()])).reshape(
            px.shape
        )
        return ok.mean(axis=1)


def annulus_pairs(field: Field, r_in: np.ndarray, r_out: float):
    """(source index, optical index) of optical sources counted in each source's annulus."""
    otree = cKDTree(field.o)
    pairs = field.xtree.sparse_distance_matrix(otree, r_out, output_type="ndarray")
    i, j, d = pairs["i"], pairs["j"], pairs["v"]
    keep = (d >= r_in[i]) & (d <= r_out) & ~field.excluded[j]
    if field.cut_optical:
        keep &= field.inside(field.o[j, 0], field.o[j, 1])
    return i[keep], j[keep]


def annulus_density(field: Field, annulus: tuple[float, float], n_area: int):
    """Annulus pairs (source, optical), counts and usable areas of every source."""
    r_in0, r_out = (float(a) for a in annulus)
    if not 0 <= r_in0 < r_out:
        raise InputError(f"annulus must be (inner, outer) with 0 <= inner < outer, got {annulus}")
    r_in = np.maximum(r_in0, field.radius)
    if np.any(r_in >= r_out):
        raise InputError(
            f'the outer annulus radius {r_out}" is inside some X-ray circles; use a larger one'
        )
    pairs = annulus_pairs(field, r_in, r_out)
    n = np.bincount(pairs[0], minlength=len(field.x))
    area = np.pi * (r_out**2 - r_in**2) * field.usable_fraction(field.x, r_in, r_out, n_area)
    return pairs, n, area
