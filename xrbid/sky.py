"""Sky geometry: tangent-plane (standard) coordinates, separations and positional matching.

Every function is vectorised over numpy arrays (or pandas Series) and works across the RA
0/360 wrap and near the celestial poles: positions are handled as unit vectors or through
trigonometric functions of RA differences, never as raw differences of RA values.

Units: RA/Dec in degrees, tangent-plane coordinates, separations and radii in arcsec.
"""

from __future__ import annotations

import itertools
import sys
from typing import Any

import numpy as np

from .errors import InputError

# astropy.units, astropy.coordinates and scipy.spatial are imported where they are used: a
# command that reads this module for to_arcsec alone does not pay for them.

# Matching uses numpy alone, instead of a KD-tree, when the two sets have at most this many
# pairs (every chord at once for the nearest position; the pairs close in Dec for the pairs
# within a radius): the tables of one galaxy (hundreds of X-ray sources, a few thousand
# optical ones) are matched in milliseconds either way, and importing scipy.spatial (about
# 0.2 s) would cost more than the matching. Both ways give the same results, bit for bit
# (see match_nearest and match_within).
DENSE_PAIRS = 1_000_000


def _dense(pairs: int) -> bool:
    """Whether to match ``pairs`` pairs with numpy rather than with a KD-tree."""
    # once scipy.spatial is imported (by the process, or a worker that preloads it), its
    # KD-tree is the faster way at any size
    return pairs <= DENSE_PAIRS and "scipy.spatial" not in sys.modules


__all__ = [
    "centroid",
    "fields_apart",
    "from_tangent_plane",
    "match_nearest",
    "match_within",
    "separation_arcsec",
    "tangent_plane",
    "to_arcsec",
    "unit_vectors",
]

ARCSEC_PER_RAD = 180.0 / np.pi * 3600.0


def to_arcsec(value: Any, *, what: str = "angle") -> float:
    """Return an angle as a float in arcsec.

    Parameters
    ----------
    value : float, str or `~astropy.units.Quantity`
        A bare number is taken to be in arcsec; a string is parsed by astropy
        (``"2arcsec"``, ``"0.5arcmin"``, ``'1.2"'``); a Quantity is converted.
    what : str
        What the angle is, for the error message.

    Returns
    -------
    float
        The angle in arcsec.

    Raises
    ------
    InputError
        If ``value`` is not an angle.

    Examples
    --------
    >>> to_arcsec("0.5arcmin")
    30.0
    >>> to_arcsec(2)
    2.0
    """
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    from astropy import units as u

    if isinstance(value, u.Quantity):
        q = value
    else:
        text = str(value).strip().replace('"', "arcsec").replace("'", "arcmin")
        try:
            q = u.Quantity(text)
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"{what} {value!r} is not an angle; write it like 2arcsec or 0.5arcmin"
            ) from exc
    if q.unit == u.dimensionless_unscaled:
        return float(q.value)
    try:
        return float(q.to_value(u.arcsec))
    except u.UnitConversionError as exc:
        raise InputError(
            f"{what} {value!r} is not an angle; write it like 2arcsec or 0.5arcmin"
        ) from exc


def _deg_arrays(*values: Any) -> list[np.ndarray]:
    return [np.asarray(v, dtype=float) for v in values]


def tangent_plane(ra: Any, dec: Any, ra0: float, dec0: float) -> tuple[np.ndarray, np.ndarray]:
    """Gnomonic (TAN) standard coordinates (ξ, η) of positions about a reference point.

    ξ points east (increasing RA) and η north, both in arcsec. Positions more than 90° from
    the reference point have no gnomonic projection and get NaN.

    Parameters
    ----------
    ra, dec : array_like
        Positions in degrees.
    ra0, dec0 : float or array_like
        The tangent point in degrees (arrays broadcast: one tangent point per position).

    Returns
    -------
    xi, eta : numpy.ndarray
        Standard coordinates in arcsec.

    Examples
    --------
    >>> xi, eta = tangent_plane(359.9999, 0.0, 0.0001, 0.0)
    >>> round(float(xi), 6), round(float(eta), 6)
    (-0.72, 0.0)
    """
    ra, dec = _deg_arrays(ra, dec)
    a = np.radians(ra)
    d = np.radians(dec)
    a0 = np.radians(np.asarray(ra0, dtype=float))
    d0 = np.radians(np.asarray(dec0, dtype=float))
    # sin/cos of the RA difference are periodic, so the 0/360 wrap needs no special case.
    da = a - a0
    cos_d, sin_d = np.cos(d), np.sin(d)
    cos_da = np.cos(da)
    denom = sin_d * np.sin(d0) + cos_d * np.cos(d0) * cos_da
    with np.errstate(divide="ignore", invalid="ignore"):
        xi = cos_d * np.sin(da) / denom
        eta = (sin_d * np.cos(d0) - cos_d * np.sin(d0) * cos_da) / denom
    behind = ~(denom > 0)
    xi = np.where(behind, np.nan, xi) * ARCSEC_PER_RAD
    eta = np.where(behind, np.nan, eta) * ARCSEC_PER_RAD
    return xi, eta


def from_tangent_plane(xi: Any, eta: Any, ra0: float, dec0: float) -> tuple[np.ndarray, np.ndarray]:
    """Positions (RA, Dec) in degrees from gnomonic standard coordinates (inverse of tangent_plane).

    Parameters
    ----------
    xi, eta : array_like
        Standard coordinates in arcsec.
    ra0, dec0 : float or array_like
        The tangent point in degrees (arrays broadcast: one tangent point per position).

    Returns
    -------
    ra, dec : numpy.ndarray
        Positions in degrees, RA in [0, 360).

    Examples
    --------
    >>> ra, dec = from_tangent_plane(-0.72, 0.0, 0.0001, 0.0)
    >>> round(float(ra), 7), round(float(dec), 7)
    (359.9999, 0.0)
    """
    xi, eta = _deg_arrays(xi, eta)
    x = xi / ARCSEC_PER_RAD
    y = eta / ARCSEC_PER_RAD
    d0 = np.radians(np.asarray(dec0, dtype=float))
    # (x, y, 1) scaled onto the sphere, expressed in the equatorial frame.
    den = np.cos(d0) - y * np.sin(d0)
    ra = np.degrees(np.arctan2(x, den)) + np.asarray(ra0, dtype=float)
    dec = np.degrees(np.arctan2(np.sin(d0) + y * np.cos(d0), np.hypot(x, den)))
    ra = np.mod(ra, 360.0)
    ra = np.where(ra >= 360.0, 0.0, ra)  # mod of a tiny negative number can round to 360
    return ra, dec


def separation_arcsec(ra1: Any, dec1: Any, ra2: Any, dec2: Any) -> np.ndarray:
    """True angular distance between positions, in arcsec (ERFA eraSeps, broadcast).

    Parameters
    ----------
    ra1, dec1, ra2, dec2 : array_like
        Positions in degrees; the two sets broadcast against each other.

    Returns
    -------
    numpy.ndarray
        Separations in arcsec.

    Examples
    --------
    >>> round(float(separation_arcsec(359.9999, 0.0, 0.0001, 0.0)), 6)
    0.72
    """
    # ERFA's eraSeps (astropy's own C library) rather than astropy.coordinates, whose import
    # (every frame, astropy.table) would cost a run more than its matching
    import erfa

    ra1, dec1, ra2, dec2 = (np.radians(v) for v in _deg_arrays(ra1, dec1, ra2, dec2))
    return np.asarray(erfa.seps(ra1, dec1, ra2, dec2)) * ARCSEC_PER_RAD


def centroid(ra: Any, dec: Any) -> tuple[float, float]:
    """Mean position (RA, Dec) in degrees: the direction of the mean unit vector.

    Parameters
    ----------
    ra, dec : array_like
        Positions in degrees (at least one).

    Returns
    -------
    ra0, dec0 : float
        The centroid in degrees, RA in [0, 360).

    Examples
    --------
    >>> ra0, dec0 = centroid([359.0, 1.0], [0.0, 0.0])
    >>> round(ra0, 9), round(dec0, 9)
    (0.0, 0.0)
    """
    v = unit_vectors(ra, dec)
    if v.shape[0] == 0:
        raise InputError("cannot take the centroid of no positions")
    m = v.mean(axis=0)
    ra0 = float(np.degrees(np.arctan2(m[1], m[0])) % 360.0)
    dec0 = float(np.degrees(np.arctan2(m[2], np.hypot(m[0], m[1]))))
    return (0.0 if ra0 >= 360.0 else ra0), dec0


def fields_apart(
    ra1: Any, dec1: Any, ra2: Any, dec2: Any, what1: str, what2: str
) -> tuple[float, str]:
    """How far apart two sets of positions are, and a sentence saying so for messages.

    Used where two inputs should cover the same field (an X-ray table and an optical list,
    a table and an alignment solution) but nothing matched.

    Parameters
    ----------
    ra1, dec1, ra2, dec2 : array_like
        The two sets of positions, degrees (non-finite entries are ignored).
    what1, what2 : str
        Names of the two inputs (``"the X-ray table"``).

    Returns
    -------
    distance : float
        Distance between the two centroids (`centroid`), arcmin; NaN when a set is empty.
    text : str
        ``"the X-ray table centre (210.80250, +54.34870) and the optical list centre
        (150.10000, +2.20000) are 3456.7 arcmin apart"``.
    """
    centres = []
    for ra, dec in ((ra1, dec1), (ra2, dec2)):
        ra, dec = (np.atleast_1d(np.asarray(v, float)) for v in (ra, dec))
        ok = np.isfinite(ra) & np.isfinite(dec)
        centres.append(centroid(ra[ok], dec[ok]) if ok.any() else (np.nan, np.nan))
    (r1, d1), (r2, d2) = centres
    distance = float(separation_arcsec(r1, d1, r2, d2)) / 60.0
    return distance, (
        f"{what1} centre ({r1:.5f}, {d1:+.5f}) and {what2} centre ({r2:.5f}, {d2:+.5f}) "
        f"are {distance:.1f} arcmin apart"
    )


def unit_vectors(ra: Any, dec: Any) -> np.ndarray:
    """Cartesian unit vectors, shape (n, 3), of positions given in degrees."""
    ra, dec = (np.radians(v) for v in _deg_arrays(ra, dec))
    cos_d = np.cos(dec)
    return np.column_stack([cos_d * np.cos(ra), cos_d * np.sin(ra), np.sin(dec)])


def _chord(arcsec: Any) -> np.ndarray:
    """Chord length on the unit sphere of an angle in arcsec (monotonic up to 180°)."""
    theta = np.minimum(np.asarray(arcsec, dtype=float) / ARCSEC_PER_RAD, np.pi)
    return 2.0 * np.sin(theta / 2.0)


def _check_positions(ra: np.ndarray, dec: np.ndarray, what: str) -> None:
    if ra.ndim != 1 or dec.ndim != 1:
        # indices into a list of positions: a 2-D array would be matched as garbage
        raise InputError(
            f"{what}: RA and Dec must be one-dimensional (shapes {ra.shape} and {dec.shape})"
        )
    if ra.shape != dec.shape:
        raise InputError(f"{what}: RA and Dec have different lengths ({ra.size} and {dec.size})")
    if not (np.all(np.isfinite(ra)) and np.all(np.isfinite(dec))):
        raise InputError(f"{what}: RA/Dec contain NaN or infinite values; drop those rows first")
    if np.any(np.abs(dec) > 90.0):
        raise InputError(f"{what}: Dec outside [-90, 90] degrees; check the columns are degrees")


def match_nearest(
    ra1: Any, dec1: Any, ra2: Any, dec2: Any, max_sep: Any = np.inf
) -> tuple[np.ndarray, np.ndarray]:
    """For each position of set 1, the nearest position of set 2 within ``max_sep``.

    Parameters
    ----------
    ra1, dec1 : array_like
        Positions to match, in degrees.
    ra2, dec2 : array_like
        Positions to search, in degrees.
    max_sep : float, str, Quantity or None
        Largest separation accepted (float = arcsec). Default (inf or None): no limit.

    Returns
    -------
    index : numpy.ndarray of int
        Index into set 2 of the nearest position, or -1 where none lies within ``max_sep``.
        Of positions at the same distance (a position listed twice), the first in set 2.
    sep : numpy.ndarray of float
        Its separation in arcsec (NaN where ``index`` is -1).

    Notes
    -----
    The nearest position is the one of smallest chord between unit vectors (`unit_vectors`),
    found with a KD-tree (`scipy.spatial.cKDTree`); its separation is the true angular
    distance (`separation_arcsec`). When the two sets have at most `DENSE_PAIRS` pairs and
    `scipy.spatial` is not imported yet, every chord is computed at once with numpy instead:
    a galaxy's tables are matched without importing `scipy.spatial`, which takes longer than
    the matching. The two ways give identical results: the KD-tree's pick is kept where the
    second nearest is clearly farther, and near ties (within 1e-12) are decided on the chords
    numpy computes, the first index winning, as the dense way decides every row.

    Examples
    --------
    >>> idx, sep = match_nearest([10.0], [20.0], [10.0, 10.001], [20.0002, 20.0], max_sep=2)
    >>> int(idx[0]), round(float(sep[0]), 3)
    (0, 0.72)
    """
    ra1, dec1, ra2, dec2 = _deg_arrays(ra1, dec1, ra2, dec2)
    ra1, dec1, ra2, dec2 = (np.atleast_1d(v) for v in (ra1, dec1, ra2, dec2))
    _check_positions(ra1, dec1, "positions to match")
    _check_positions(ra2, dec2, "positions to search")
    max_sep = np.inf if max_sep is None else to_arcsec(max_sep, what="max_sep")
    n1 = ra1.size
    index = np.full(n1, -1, dtype=np.intp)
    sep = np.full(n1, np.nan)
    if n1 == 0 or ra2.size == 0:
        return index, sep
    v1, v2 = unit_vectors(ra1, dec1), unit_vectors(ra2, dec2)
    bound = _chord(max_sep) * (1 + 1e-9) + 1e-15 if np.isfinite(max_sep) else np.inf
    if _dense(n1 * ra2.size):
        idx, found = _nearest_dense(v1, v2, bound)
    else:
        idx, found = _nearest_kdtree(v1, v2, bound)
    exact = separation_arcsec(ra1[found], dec1[found], ra2[idx[found]], dec2[idx[found]])
    keep = exact <= max_sep
    rows = np.flatnonzero(found)[keep]
    index[rows] = idx[found][keep]
    sep[rows] = exact[keep]
    return index, sep


def _square_chords(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared chords between unit vectors ``a`` (..., 3) and ``b``, broadcast.

    Computed one component at a time, in one order, so that a pair's value is the same bits
    whether it comes from a dense matrix or from a list of pairs.
    """
    d = a[..., 0] - b[..., 0]
    out = d * d
    d = a[..., 1] - b[..., 1]
    out += d * d
    d = a[..., 2] - b[..., 2]
    out += d * d
    return out


def _nearest_dense(v1: np.ndarray, v2: np.ndarray, bound: float) -> tuple[np.ndarray, np.ndarray]:
    """Nearest of ``v2`` to each ``v1`` (first of equal chords); whether it is within ``bound``."""
    sq = _square_chords(v1[:, None, :], v2[None, :, :])
    idx = np.argmin(sq, axis=1)  # the first index of the smallest value
    best = np.take_along_axis(sq, idx[:, None], axis=1)[:, 0]
    return idx, best < bound * bound


def _nearest_kdtree(v1: np.ndarray, v2: np.ndarray, bound: float) -> tuple[np.ndarray, np.ndarray]:
    """`_nearest_dense` with a KD-tree: the same indices for the rows found."""
    from scipy.spatial import cKDTree

    tree = cKDTree(v2)
    if len(v2) == 1:
        dist, idx = tree.query(v1, k=1, distance_upper_bound=bound)
        return np.where(np.isfinite(dist), idx, 0), np.isfinite(dist)
    dist, idx = tree.query(v1, k=2, distance_upper_bound=bound)
    found = np.isfinite(dist[:, 0])
    nearest = np.where(found, idx[:, 0], 0)
    # The tree picks among equal chords in its own order, and computes chords with its own
    # rounding: where the second nearest is not clearly farther, the row is decided on the
    # chords numpy computes, over every position about as near, the first index winning.
    tied = np.flatnonzero(found & (dist[:, 1] <= dist[:, 0] * (1 + 1e-12)))
    if tied.size:
        radius = dist[tied, 0] * (1 + 1e-9) + 1e-12
        near = tree.query_ball_point(v1[tied], radius)
        counts = np.fromiter(map(len, near), dtype=np.intp, count=tied.size)
        cand = np.fromiter(itertools.chain.from_iterable(near), np.intp, int(counts.sum()))
        row = np.repeat(tied, counts)
        sq = _square_chords(v1[row], v2[cand])
        order = np.lexsort((cand, sq, row))
        first = np.r_[True, row[order][1:] != row[order][:-1]]
        nearest[row[order][first]] = cand[order][first]
    return nearest, found


def _dec_band_pairs(
    dec1: np.ndarray, dec2: np.ndarray, arcsec: float
) -> tuple[np.ndarray, np.ndarray]:
    """Every pair (i, j) whose Dec differ by at most ``arcsec`` (with a margin).

    Two positions are at least their difference in Dec apart, so these pairs include every
    pair within ``arcsec``. Found on the Dec-sorted set 2 with `numpy.searchsorted`.
    """
    order = np.argsort(dec2, kind="stable")
    sorted_dec = dec2[order]
    margin = min(arcsec / 3600.0, 180.0) * (1 + 1e-9) + 1e-12
    lo = np.searchsorted(sorted_dec, dec1 - margin, side="left")
    hi = np.searchsorted(sorted_dec, dec1 + margin, side="right")
    counts = hi - lo
    i = np.repeat(np.arange(dec1.size), counts)
    start = np.cumsum(counts) - counts
    at = np.arange(int(counts.sum())) - np.repeat(start - lo, counts)
    return i, order[at]


def match_within(
    ra1: Any, dec1: Any, ra2: Any, dec2: Any, radius: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pairs (i, j) with position j of set 2 within ``radius`` of position i of set 1.

    Parameters
    ----------
    ra1, dec1 : array_like
        Centre positions, in degrees.
    ra2, dec2 : array_like
        Positions to search, in degrees.
    radius : float, str, Quantity or array_like
        Search radius in arcsec: one value for all centres, or one per centre (NaN, infinite
        or negative radii find nothing: unlike `match_nearest`'s ``max_sep``, inf is not
        "no limit" here).

    Returns
    -------
    i1, i2 : numpy.ndarray of int
        Indices into sets 1 and 2 of each pair, sorted by ``i1``, then by separation, then
        by ``i2``.
    sep : numpy.ndarray of float
        Separation of each pair in arcsec.

    Notes
    -----
    The pairs within the largest radius are found as chords between unit vectors, with a
    KD-tree (`scipy.spatial.cKDTree`), or, when the two sets have at most `DENSE_PAIRS` pairs
    and `scipy.spatial` is not imported yet, with numpy as the pairs whose Dec differ by at
    most that radius: a galaxy's tables are matched without importing `scipy.spatial`, which
    takes longer than the matching. Each pair's true separation is then compared with its
    radius; the candidates only bound the search (with a margin), so both ways keep the same
    pairs, in the same order.

    Examples
    --------
    >>> i1, i2, sep = match_within([10.0], [20.0], [10.0, 10.0], [20.0002, 20.001], radius=1)
    >>> i1.tolist(), i2.tolist(), sep.round(3).tolist()
    ([0], [0], [0.72])
    """
    ra1, dec1, ra2, dec2 = _deg_arrays(ra1, dec1, ra2, dec2)
    ra1, dec1, ra2, dec2 = (np.atleast_1d(v) for v in (ra1, dec1, ra2, dec2))
    _check_positions(ra1, dec1, "centre positions")
    _check_positions(ra2, dec2, "positions to search")
    if np.ndim(radius) == 0 and not isinstance(radius, np.ndarray):
        radius = np.full(ra1.size, to_arcsec(radius, what="radius"))
    else:
        # a Quantity exists only once astropy.units is imported: no need to import it to ask
        u = sys.modules.get("astropy.units")
        if u is not None and isinstance(radius, u.Quantity):
            radius = radius.to_value(u.arcsec)
        radius = np.asarray(radius, dtype=float)
        if radius.ndim == 0:
            radius = np.full(ra1.size, float(radius))
        if radius.shape != ra1.shape:
            raise InputError(
                f"radius has {radius.size} values for {ra1.size} positions; give one per row"
            )
    empty = np.array([], dtype=np.intp)
    if ra1.size == 0 or ra2.size == 0:
        return empty, empty.copy(), np.array([], dtype=float)
    usable = np.isfinite(radius) & (radius >= 0)
    if not usable.any():
        return empty, empty.copy(), np.array([], dtype=float)
    rows = np.flatnonzero(usable)
    largest = radius[rows].max()
    # Candidate pairs, a superset of those within the largest radius; the true separations
    # and the per-row radii decide afterwards.
    if _dense(rows.size * ra2.size):
        i, i2 = _dec_band_pairs(dec1[rows], dec2, largest)
    else:
        from scipy.spatial import cKDTree

        bound = _chord(largest) * (1 + 1e-9) + 1e-15
        v1, v2 = unit_vectors(ra1[rows], dec1[rows]), unit_vectors(ra2, dec2)
        pairs = cKDTree(v1).sparse_distance_matrix(cKDTree(v2), bound, output_type="ndarray")
        i, i2 = pairs["i"].astype(np.intp), pairs["j"].astype(np.intp)
    i1 = rows[i]
    sep = separation_arcsec(ra1[i1], dec1[i1], ra2[i2], dec2[i2])
    keep = sep <= radius[i1]
    i1, i2, sep = i1[keep], i2[keep], sep[keep]
    order = np.lexsort((i2, sep, i1))
    return i1[order], i2[order], sep[order]
