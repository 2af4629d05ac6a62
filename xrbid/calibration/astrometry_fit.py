"""The astrometric fit: match detections to a reference catalogue and fit the image's WCS.

1. `match_to_reference` — project the catalogue into the image with the current WCS, find the
   coarse offset as the peak of a 2-D histogram of all detection-minus-catalogue offsets within
   a search radius (the "vote" used by tweakwcs-style matchers), then pair each catalogue star
   with its nearest detection within a match radius after that offset (one to one).
2. `fit_wcs` — least-squares fit, in the tangent plane, of a translation (``shift``), a
   rotation and scale (``rscale``), a full linear transform (``linear``) or a linear transform
   plus a SIP polynomial (``sip``, with `astropy.wcs.utils.fit_wcs_from_points`), with iterative
   sigma clipping. Too few matches for the geometry asked for -> the next simpler one, said in
   the result's notes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from astropy.wcs import WCS, Sip
from scipy.spatial import cKDTree

from ..errors import CalibrationError, InputError

__all__ = ["FIT_GEOMETRIES", "WCSFit", "fit_wcs", "match_to_reference"]

#: Geometries from the simplest up, and the fewest matched stars each needs.
FIT_GEOMETRIES: dict[str, int] = {"shift": 1, "rscale": 3, "linear": 4, "sip": 0}


@dataclass
class WCSFit:
    """The result of a WCS fit.

    Attributes
    ----------
    wcs : astropy.wcs.WCS
        The corrected WCS.
    fit : str
        The geometry fitted (may be simpler than ``requested``; see ``notes``).
    requested : str
        The geometry asked for.
    n_matched : int
        Catalogue stars paired with a detection.
    n_used : int
        Pairs kept after sigma clipping.
    rms_pix, rms_arcsec : float
        Root-mean-square radial residual of the pairs kept (pixels, arcsec).
    offset_arcsec : (float, float)
        Move of the reference pixel on the sky (east, north), arcsec.
    rotation_deg : float
        Rotation of the pixel axes on the sky (counter-clockwise, east of north), degrees.
    scale : float
        New pixel scale over the old one.
    coarse_offset_pix : (float, float)
        The histogram-peak offset (detection minus catalogue), pixels.
    matches : pandas.DataFrame
        One row per pair: ``x``, ``y`` (0-based pixels of the detection), ``ra``, ``dec`` of
        the catalogue star, ``ref_index``, ``det_index``, residuals ``dx``, ``dy`` (pixels,
        detection minus catalogue through the new WCS), ``used`` (kept by the clipping).
    notes : list of str
        What the fit had to do differently from what was asked, and why.
    """

    wcs: WCS
    fit: str
    requested: str
    n_matched: int
    n_used: int
    rms_pix: float
    rms_arcsec: float
    offset_arcsec: tuple[float, float]
    rotation_deg: float
    scale: float
    coarse_offset_pix: tuple[float, float]
    matches: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (without the WCS object and the matched list)."""
        return {
            "fit": self.fit,
            "requested": self.requested,
            "n_matched": int(self.n_matched),
            "n_used": int(self.n_used),
            "n_rejected": int(self.n_matched - self.n_used),
            "rms_pix": float(self.rms_pix),
            "rms_arcsec": float(self.rms_arcsec),
            "offset_arcsec": [float(v) for v in self.offset_arcsec],
            "rotation_deg": float(self.rotation_deg),
            "scale": float(self.scale),
            "coarse_offset_pix": [float(v) for v in self.coarse_offset_pix],
            "notes": list(self.notes),
        }


def _linear(w: WCS) -> np.ndarray:
    """The 2x2 matrix from (distortion-corrected) pixel offsets to intermediate degrees."""
    w.wcs.set()
    return np.array(w.pixel_scale_matrix, dtype=float)  # what WCSLIB uses, CD or CDELT x PC


def _set_linear(w: WCS, matrix: np.ndarray) -> None:
    if w.wcs.has_cd():
        del w.wcs.cd  # one form only: PC with unit CDELT
    w.wcs.pc = matrix
    w.wcs.cdelt = [1.0, 1.0]
    w.wcs.set()


def _focal(w: WCS, xy: np.ndarray) -> np.ndarray:
    """Pixel (0-based) -> distortion-corrected offsets from the reference pixel, in pixels."""
    if w.sip is not None or w.cpdis1 is not None or w.det2im1 is not None:
        # pix2foc applies SIP and lookup-table distortions and answers in the input's pixel
        # convention (here 0-based), so the reference pixel sits at CRPIX - 1.
        return w.pix2foc(xy, 0) + 1.0 - w.wcs.crpix
    return xy + 1.0 - w.wcs.crpix


def _tangent(w: WCS) -> WCS:
    """A pure gnomonic WCS at ``w``'s reference point whose pixels are intermediate degrees."""
    t = WCS(naxis=2)
    t.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    t.wcs.crval = w.wcs.crval
    t.wcs.crpix = [0.0, 0.0]
    t.wcs.cdelt = [1.0, 1.0]
    t.wcs.lonpole = w.wcs.lonpole
    t.wcs.latpole = w.wcs.latpole
    t.wcs.radesys = w.wcs.radesys or "ICRS"
    t.wcs.set()
    return t


def _world_to_pixel(w: WCS, ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if w.sip is not None or w.cpdis1 is not None or w.det2im1 is not None:
            x, y = w.all_world2pix(ra, dec, 0, tolerance=1e-7, maxiter=50, quiet=True)
        else:
            x, y = w.wcs_world2pix(ra, dec, 0)
    return np.column_stack([x, y])


def _pixel_scale_arcsec(w: WCS) -> float:
    return float(np.sqrt(abs(np.linalg.det(_linear(w)))) * 3600.0)


def match_to_reference(
    wcs: WCS,
    xy: np.ndarray,
    ref_ra: np.ndarray,
    ref_dec: np.ndarray,
    *,
    search_radius: float = 5.0,
    match_radius: float = 0.5,
    shape: tuple[int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair catalogue stars with detections after a coarse offset found by histogram voting.

    Parameters
    ----------
    wcs : astropy.wcs.WCS
        The image's current WCS.
    xy : (N, 2) array
        Detections, 0-based pixels.
    ref_ra, ref_dec : arrays
        Catalogue positions, degrees.
    search_radius : float
        Largest offset between the WCS and the truth to look for, arcsec.
    match_radius : float
        Largest distance of a pair after the coarse offset, arcsec (also the histogram bin).
    shape : (ny, nx), optional
        Image shape; catalogue stars farther than ``search_radius`` outside it are dropped.

    Returns
    -------
    det_index, ref_index : int arrays
        Paired rows of ``xy`` and of the catalogue.
    coarse : (2,) array
        The coarse offset, detection minus catalogue, pixels.

    Raises
    ------
    CalibrationError
        No catalogue star falls on the image, or no pair is found.
    """
    xy = np.asarray(xy, float).reshape(-1, 2)
    scale = _pixel_scale_arcsec(wcs)
    search = search_radius / scale
    radius = match_radius / scale
    ref_xy = _world_to_pixel(wcs, np.asarray(ref_ra, float), np.asarray(ref_dec, float))
    ok = np.all(np.isfinite(ref_xy), axis=1)
    if shape is not None:
        ny, nx = shape
        ok &= (
            (ref_xy[:, 0] > -0.5 - search)
            & (ref_xy[:, 0] < nx - 0.5 + search)
            & (ref_xy[:, 1] > -0.5 - search)
            & (ref_xy[:, 1] < ny - 0.5 + search)
        )
    if not ok.any():
        centre = wcs.pixel_to_world_values(*(np.array(shape[::-1]) / 2.0 if shape else (0, 0)))
        raise CalibrationError(
            f"no overlap: none of the {len(ref_xy)} catalogue stars falls on the image (centre "
            f"RA {float(centre[0]):.5f}, Dec {float(centre[1]):.5f}); query the catalogue "
            "around the image, or check the image's WCS"
        )
    if len(xy) == 0:
        raise CalibrationError("no stars were detected on the image; lower the threshold")
    ref_index_all = np.flatnonzero(ok)
    ref_xy_ok = ref_xy[ok]

    # Coarse offset: vote with every detection-catalogue pair closer than the search radius.
    det_tree = cKDTree(xy)
    pairs = cKDTree(ref_xy_ok).query_ball_tree(det_tree, r=search)
    counts = np.fromiter((len(p) for p in pairs), int, len(pairs))
    if counts.sum() == 0:
        raise CalibrationError(
            f"no detection lies within {search_radius:g} arcsec of any of the "
            f"{len(ref_xy_ok)} catalogue stars on the image; raise the search radius"
        )
    ri = np.repeat(np.arange(len(pairs)), counts)
    di = np.concatenate([np.asarray(p, int) for p in pairs if p])
    dxy = xy[di] - ref_xy_ok[ri]
    nbins = max(int(np.ceil(2 * search / max(radius, 1e-9))), 1)
    hist, xe, ye = np.histogram2d(
        dxy[:, 0], dxy[:, 1], bins=nbins, range=[[-search, search], [-search, search]]
    )
    ix, iy = np.unravel_index(np.argmax(hist), hist.shape)
    peak = np.array([(xe[ix] + xe[ix + 1]) / 2, (ye[iy] + ye[iy + 1]) / 2])
    near = np.hypot(*(dxy - peak).T) <= radius
    coarse = np.median(dxy[near], axis=0) if near.any() else peak

    # Nearest detection of each shifted catalogue star; keep each detection's closest star.
    dist, nearest = det_tree.query(ref_xy_ok + coarse, distance_upper_bound=radius)
    found = np.isfinite(dist)
    r_idx = np.flatnonzero(found)
    d_idx = nearest[found]
    order = np.argsort(dist[found], kind="stable")
    _, first = np.unique(d_idx[order], return_index=True)
    keep = np.sort(order[first])
    return d_idx[keep], ref_index_all[r_idx[keep]], coarse


def _solve(geometry: str, foc: np.ndarray, target: np.ndarray, linear: np.ndarray) -> tuple:
    """Least squares ``target = A @ foc + t`` for the geometry; returns (A, t)."""
    if geometry == "shift":
        t = np.mean(target - foc @ linear.T, axis=0)
        return linear, t
    if geometry == "rscale":
        v = foc @ linear.T  # current intermediate coordinates: a similarity acts on these
        n = len(v)
        design = np.zeros((2 * n, 4))
        design[:n] = np.column_stack([v[:, 0], -v[:, 1], np.ones(n), np.zeros(n)])
        design[n:] = np.column_stack([v[:, 1], v[:, 0], np.zeros(n), np.ones(n)])
        rhs = np.concatenate([target[:, 0], target[:, 1]])
        (a, b, tx, ty), *_ = np.linalg.lstsq(design, rhs, rcond=None)
        return np.array([[a, -b], [b, a]]) @ linear, np.array([tx, ty])
    design = np.column_stack([foc, np.ones(len(foc))])
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    return coef[:2].T, coef[2]


def _sip_terms(degree: int) -> list[tuple[int, int]]:
    return [(p, n - p) for n in range(2, degree + 1) for p in range(n, -1, -1)]


def _solve_sip(
    uv: np.ndarray, target: np.ndarray, degree: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least squares ``target = CD @ (uv + SIP(uv)) + t``; returns (CD, t, C) with C = CD @ SIP.

    One linear problem in the linear terms and the polynomial terms of order 2 to ``degree``;
    offsets are scaled to order unity first so that the problem stays well conditioned.
    """
    norm = max(float(np.max(np.abs(uv))), 1.0)
    s = uv / norm
    terms = _sip_terms(degree)
    design = np.column_stack(
        [s[:, 0], s[:, 1], np.ones(len(s))] + [s[:, 0] ** p * s[:, 1] ** q for p, q in terms]
    )
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    cd = coef[:2].T / norm
    poly = np.array([coef[3 + k] / norm ** (p + q) for k, (p, q) in enumerate(terms)]).T
    return cd, coef[2], poly


def _fit_linear_family(
    w0: WCS,
    geometry: str,
    xy: np.ndarray,
    ra: np.ndarray,
    dec: np.ndarray,
    sip_degree: int = 3,
) -> WCS:
    """Fit ``geometry``, re-projecting about the moved reference point until it stays put.

    shift/rscale/linear keep the image's distortion (SIP, lookup tables) and refit the linear
    part; sip refits the linear part and a new SIP polynomial of ``sip_degree``.
    """
    w = w0.deepcopy()
    if geometry == "sip":
        w.sip = None
        w.wcs.ctype = [c[:8] for c in w.wcs.ctype]
        w.wcs.set()
    uv = xy + 1.0 - w.wcs.crpix
    for _ in range(20):
        tan = _tangent(w)
        # origin 0 with CRPIX 0: intermediate degrees = pixel + 1
        target = np.column_stack(tan.wcs_world2pix(ra, dec, 0)) + 1.0
        if geometry == "sip":
            matrix, t, poly = _solve_sip(uv, target, sip_degree)
        else:
            matrix, t = _solve(geometry, _focal(w, xy), target, _linear(w))
        _set_linear(w, matrix)
        w.wcs.crval = tan.wcs_pix2world([[t[0] - 1.0, t[1] - 1.0]], 0)[0]
        w.wcs.set()
        if np.hypot(*t) < 1e-12:  # the reference point no longer moves (< 4 nano-arcsec)
            break
    if geometry == "sip":
        ab = np.linalg.solve(matrix, poly)  # SIP coefficients act on pixels, before CD
        a = np.zeros((sip_degree + 1, sip_degree + 1))
        b = np.zeros_like(a)
        for k, (p, q) in enumerate(_sip_terms(sip_degree)):
            a[p, q], b[p, q] = ab[0, k], ab[1, k]
        w.sip = Sip(a, b, None, None, w.wcs.crpix)
        w.wcs.ctype = [f"{c[:8]}-SIP" for c in w.wcs.ctype]
        w.wcs.set()
    return w


def _residuals(w: WCS, xy: np.ndarray, ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    return xy - _world_to_pixel(w, ra, dec)


def _sip_min(degree: int) -> int:
    # one more star than unknowns per axis: 3 linear terms plus the SIP terms of order 2..degree
    return 3 + len(_sip_terms(degree)) + 1


def fit_wcs(
    wcs: WCS,
    xy: np.ndarray,
    ref_ra: np.ndarray,
    ref_dec: np.ndarray,
    *,
    fit: str = "rscale",
    search_radius: float = 5.0,
    match_radius: float = 0.5,
    clip_sigma: float = 3.0,
    max_iter: int = 10,
    sip_degree: int = 3,
    shape: tuple[int, int] | None = None,
    fallback: bool = True,
) -> WCSFit:
    """Fit the WCS of an image to a reference catalogue.

    Parameters
    ----------
    wcs : astropy.wcs.WCS
        The image's current celestial WCS (not modified).
    xy : (N, 2) array
        Detected stars, 0-based pixels (as `xrbid.photometry.detect_sources` gives them).
    ref_ra, ref_dec : arrays
        Reference catalogue positions, degrees, at the epoch of the image.
    fit : {"shift", "rscale", "linear", "sip"}
        Geometry: translation; rotation + scale + translation; full linear (adds skew and
        different scales in x and y); linear + SIP polynomial of ``sip_degree``.
    search_radius, match_radius : float
        Matching radii in arcsec (see `match_to_reference`).
    clip_sigma : float
        Pairs whose radial residual exceeds ``clip_sigma`` times the robust scatter are
        dropped; repeated until nothing changes or ``max_iter`` rounds.
    sip_degree : int
        Polynomial degree for ``fit="sip"``.
    shape : (ny, nx), optional
        Image shape (for the overlap test).
    fallback : bool
        With too few pairs for ``fit``, fit the next simpler geometry (and say so in
        ``notes``) instead of failing.

    Returns
    -------
    WCSFit

    Raises
    ------
    CalibrationError
        No overlap, no pairs, or too few pairs for the geometry (the message gives the count).

    Examples
    --------
    >>> result = fit_wcs(wcs, stars[["x", "y"]].to_numpy(), gaia.ra, gaia.dec, fit="rscale")
    ... # doctest: +SKIP
    >>> result.rms_arcsec, result.n_used  # doctest: +SKIP
    """
    if fit not in FIT_GEOMETRIES:
        raise InputError(f"unknown fit {fit!r}; choose one of {', '.join(FIT_GEOMETRIES)}")
    if not wcs.has_celestial:
        raise CalibrationError("the image has no celestial WCS to correct")
    w0 = wcs.celestial.deepcopy() if wcs.naxis != 2 else wcs.deepcopy()
    xy = np.asarray(xy, float).reshape(-1, 2)
    ref_ra = np.asarray(ref_ra, float)
    ref_dec = np.asarray(ref_dec, float)
    good = np.isfinite(ref_ra) & np.isfinite(ref_dec)
    det, ref, coarse = match_to_reference(
        w0,
        xy,
        ref_ra[good],
        ref_dec[good],
        search_radius=search_radius,
        match_radius=match_radius,
        shape=shape,
    )
    ref = np.flatnonzero(good)[ref]
    n = len(det)
    notes: list[str] = []
    needs = dict(FIT_GEOMETRIES, sip=_sip_min(sip_degree))
    order = list(FIT_GEOMETRIES)
    geometry = fit
    while n < needs[geometry]:
        simpler = order[order.index(geometry) - 1] if order.index(geometry) > 0 else None
        if not fallback or simpler is None:
            raise CalibrationError(
                f"only {n} catalogue star(s) matched a detection; a '{geometry}' fit needs at "
                f"least {needs[geometry]}; widen --match-radius/--search-radius or use a "
                "simpler --fit"
            )
        notes.append(
            f"only {n} matched star(s): fitted '{simpler}' instead of '{geometry}' "
            f"(which needs {needs[geometry]})"
        )
        geometry = simpler

    pxy, pra, pdec = xy[det], ref_ra[ref], ref_dec[ref]
    used = np.ones(n, bool)
    new = w0
    for _ in range(max(1, max_iter)):
        new = _fit_linear_family(w0, geometry, pxy[used], pra[used], pdec[used], sip_degree)
        r = np.hypot(*_residuals(new, pxy, pra, pdec).T)
        # robust per-axis sigma from the median radial residual (Rayleigh: median = 1.1774 s)
        sigma = max(np.median(r[used]) / 1.1774, 1e-3)
        keep = r <= clip_sigma * sigma
        if keep.sum() < needs[geometry]:
            notes.append("sigma clipping stopped early: it would leave too few stars")
            break
        if np.array_equal(keep, used):
            break
        used = keep
    res = _residuals(new, pxy, pra, pdec)
    rms_pix = float(np.sqrt(np.mean(np.sum(res[used] ** 2, axis=1)))) if used.any() else np.nan
    scale_new = _pixel_scale_arcsec(new)
    offset, rotation, scale = _describe_change(w0, new)
    matches = pd.DataFrame(
        {
            "x": pxy[:, 0],
            "y": pxy[:, 1],
            "ra": pra,
            "dec": pdec,
            "ref_index": ref,
            "det_index": det,
            "dx": res[:, 0],
            "dy": res[:, 1],
            "used": used,
        }
    )
    return WCSFit(
        wcs=new,
        fit=geometry,
        requested=fit,
        n_matched=n,
        n_used=int(used.sum()),
        rms_pix=rms_pix,
        rms_arcsec=rms_pix * scale_new,
        offset_arcsec=offset,
        rotation_deg=rotation,
        scale=scale,
        coarse_offset_pix=(float(coarse[0]), float(coarse[1])),
        matches=matches,
        notes=notes,
    )


def _describe_change(old: WCS, new: WCS) -> tuple[tuple[float, float], float, float]:
    """Sky move of the old reference pixel, rotation and scale change of the pixel axes."""
    crpix0 = old.wcs.crpix - 1.0
    ra0, dec0 = old.all_pix2world([crpix0], 0)[0]
    ra1, dec1 = new.all_pix2world([crpix0], 0)[0]
    east = (ra1 - ra0 + 180.0) % 360.0 - 180.0
    offset = (float(east * np.cos(np.radians(dec0)) * 3600.0), float((dec1 - dec0) * 3600.0))
    a, b = _linear(old), _linear(new)
    rot = np.degrees(np.arctan2(b[1, 0], b[0, 0]) - np.arctan2(a[1, 0], a[0, 0]))
    rot = float((rot + 180.0) % 360.0 - 180.0)
    scale = float(np.sqrt(abs(np.linalg.det(b)) / abs(np.linalg.det(a))))
    return offset, rot, scale
