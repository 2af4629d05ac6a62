"""Aperture photometry with a local, sigma-clipped annulus background and full error budget."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from photutils.aperture import CircularAperture
from photutils.aperture import aperture_photometry as _photutils_aperture_photometry
from photutils.background import Background2D
from photutils.utils import calc_total_error
from scipy.spatial import cKDTree

from xrbid.errors import InputError, XrbidWarning

from .background import estimate_background
from .images import HSTImage, as_image

__all__ = ["OutsideImageWarning", "aperture_photometry", "flux_column", "positions_to_pixels"]


class OutsideImageWarning(XrbidWarning):
    """Some positions fall outside the image; their rows are kept with NaN fluxes."""


def flux_column(radius: float, prefix: str = "flux") -> str:
    """Column name of the aperture of ``radius`` pixels: ``flux_r3``, ``flux_r3p5``."""
    text = f"{radius:g}".replace(".", "p")
    return f"{prefix}_r{text}"


def positions_to_pixels(
    image: HSTImage, positions: pd.DataFrame | np.ndarray | Sequence, *, use_sky: bool = False
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """0-based pixel x, y of ``positions`` and the table to carry along.

    A DataFrame's ``x``/``y`` columns are taken as 0-based pixels of this image; ``ra``/``dec``
    (deg) are converted with the image WCS instead when there are no ``x``/``y`` columns or
    ``use_sky`` is true (positions measured on another image). An (N, 2) array is pixel x, y.
    """
    if isinstance(positions, pd.DataFrame):
        table = positions.reset_index(drop=True).copy()
        cols = set(table.columns)
        has_sky = {"ra", "dec"} <= cols
        if has_sky and image.wcs is not None and (use_sky or not {"x", "y"} <= cols):
            x, y = image.sky_to_pixel(table["ra"].to_numpy(float), table["dec"].to_numpy(float))
            return x, y, table
        if {"x", "y"} <= cols and not use_sky:
            return table["x"].to_numpy(float), table["y"].to_numpy(float), table
        if has_sky:
            x, y = image.sky_to_pixel(table["ra"].to_numpy(float), table["dec"].to_numpy(float))
            return x, y, table
        raise InputError("positions need x, y (0-based pixels) or ra, dec (deg) columns")
    xy = np.atleast_2d(np.asarray(positions, dtype=float))
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise InputError(f"positions must be an (N, 2) array of x, y; got shape {xy.shape}")
    table = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1]})
    return xy[:, 0].copy(), xy[:, 1].copy(), table


def _batches(n: int, size: int) -> list[slice]:
    return [slice(i, min(i + size, n)) for i in range(0, n, size)] or [slice(0, 0)]


def aperture_photometry(
    image: HSTImage | np.ndarray | str | os.PathLike,
    positions: pd.DataFrame | np.ndarray | Sequence,
    *,
    radii: Sequence[float] = (3.0,),
    annulus: tuple[float, float] = (8.0, 12.0),
    error: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    extended_radius: float | None = None,
    extended_annulus: tuple[float, float] | None = None,
    crowding_radius: float | None = None,
    use_sky: bool = False,
    background: Background2D | None = None,
    sigma: float = 3.0,
    box_size: int = 64,
    batch_size: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Fluxes in several circular apertures with a local annulus background.

    For each position: the sum in each aperture of ``radii`` minus the local background (the
    sigma-clipped median of the ``annulus`` pixels times the aperture area). The error combines
    the per-pixel background RMS (2-D background map), the Poisson noise of the source
    (electrons = data x gain [x exposure time for rate images], from the header), and the
    uncertainty of the local background estimate (area^2 sigma_sky^2 / n_sky).

    Parameters
    ----------
    image : HSTImage, numpy.ndarray or path
        The image.
    positions : pandas.DataFrame, numpy.ndarray or sequence
        ``x``, ``y`` columns (0-based pixels) or ``ra``, ``dec`` (deg), or an (N, 2) array.
    radii : sequence of float
        Aperture radii in pixels (point sources).
    annulus : (float, float)
        Inner and outer radius of the background annulus in pixels.
    error : numpy.ndarray, optional
        A total per-pixel 1-sigma error image to use instead of the computed one.
    mask : numpy.ndarray of bool, optional
        Pixels to ignore; NaN/inf pixels are always ignored.
    extended_radius : float, optional
        Radius (pixels) of an extra aperture for extended sources (clusters), with its own
        annulus ``extended_annulus`` (default: from 1.5 to 2.5 times the radius).
    crowding_radius : float, optional
        A source with another position closer than this (pixels) is flagged ``crowded``
        (default: the annulus outer radius).
    use_sky : bool
        Place apertures from the ``ra``/``dec`` columns even when ``x``/``y`` are present.
    background : photutils.background.Background2D, optional
        A background already estimated on this image (`estimate_background`), to reuse.
    sigma : float
        Sigma-clipping threshold of the annulus median.
    box_size : int
        Box size of the 2-D background RMS map.
    batch_size : int
        Positions measured per batch (the progress callback is called after each).
    progress : callable, optional
        Called with the number of positions finished after each batch.

    Returns
    -------
    pandas.DataFrame
        The input columns plus ``x``, ``y``, ``ra``, ``dec``, for each radius
        ``flux_r<r>``/``flux_err_r<r>`` (background-subtracted, data units), ``sky_median``,
        ``sky_std``, ``sky_npix``, ``peak`` (max pixel in the largest aperture) and flags
        ``flag_outside``, ``flag_edge`` (aperture off the image or on bad pixels),
        ``flag_saturated``, ``flag_crowded``. Nothing is dropped.

    Examples
    --------
    >>> phot = aperture_photometry(img, sources, radii=[2, 3, 5], annulus=(8, 12))  # doctest: +SKIP
    >>> phot[["flux_r3", "flux_err_r3", "flag_edge"]].head()  # doctest: +SKIP
    """
    img = as_image(image)
    radii = [float(r) for r in np.atleast_1d(radii)]
    if not radii or min(radii) <= 0:
        raise InputError(f"aperture radii must be positive, got {radii}")
    r_in, r_out = (float(a) for a in annulus)
    if not 0 < r_in < r_out:
        raise InputError(f"annulus must be (r_in, r_out) with 0 < r_in < r_out, got {annulus}")
    x, y, table = positions_to_pixels(img, positions, use_sky=use_sky)
    n = len(x)
    ny, nx = img.shape

    bad = img.bad_pixels(mask)
    data = np.where(bad, 0.0, img.data)
    if error is None:
        bkg = background or estimate_background(img.data, box_size=box_size, mask=bad)
        rms = bkg.background_rms  # interpolated on each access: fetch once
        source_signal = np.clip(data - bkg.background, 0.0, None)
        eff_gain = img.effective_gain
        if eff_gain is None:
            warnings.warn(
                f"{img.label}: no EXPTIME, so the source Poisson term is left out of the errors "
                "(background RMS only); give the exposure time to include it (exptime= in Python, "
                "--exptime on the phot commands)",
                XrbidWarning,
                stacklevel=2,
            )
            total_error = np.asarray(rms, dtype=float)
        else:
            total_error = calc_total_error(source_signal, rms, eff_gain)
    else:
        total_error = np.asarray(error, dtype=float)
        if total_error.shape != img.shape:
            raise InputError(f"error shape {total_error.shape} differs from image {img.shape}")
    total_error = np.where(bad, 0.0, total_error)

    finite = np.isfinite(x) & np.isfinite(y)
    outside = ~finite | (x < -0.5) | (x > nx - 0.5) | (y < -0.5) | (y > ny - 0.5)
    if outside.any():
        warnings.warn(
            f"{int(outside.sum())} of {n} positions fall outside {img.label} "
            f"({nx}x{ny} pixels); their fluxes are NaN and flag_outside is set",
            OutsideImageWarning,
            stacklevel=2,
        )
    inside = np.flatnonzero(~outside)
    xy_in = np.column_stack([x[inside], y[inside]])

    r_max = max(radii)
    ap_sets = [("", radii, (r_in, r_out))]
    if extended_radius is not None:
        ext_ann = extended_annulus or (1.5 * extended_radius, 2.5 * extended_radius)
        ap_sets.append(("_ext", [float(extended_radius)], (float(ext_ann[0]), float(ext_ann[1]))))

    out = table
    if use_sky or "x" not in out:
        out["x"], out["y"] = x, y
    if "ra" not in out or "dec" not in out:
        out["ra"], out["dec"] = img.pixel_to_sky(x, y)
    for suffix, rads, (a_in, a_out) in ap_sets:
        fluxes = {r: np.full(n, np.nan) for r in rads}
        errs = {r: np.full(n, np.nan) for r in rads}
        sky_med = np.full(n, np.nan)
        sky_std = np.full(n, np.nan)
        sky_n = np.zeros(n)
        for batch in _batches(len(inside), batch_size):
            idx = inside[batch]
            if len(idx) == 0:
                continue
            pos = xy_in[batch]
            apertures = [CircularAperture(pos, r=r) for r in rads]
            phot = _photutils_aperture_photometry(
                data, apertures, error=total_error, mask=bad, method="exact"
            )
            med, std, npix = _clipped_annulus(data, bad, pos, a_in, a_out, sigma)
            sky_med[idx], sky_std[idx], sky_n[idx] = med, std, npix
            for k, r in enumerate(rads):
                area = np.pi * r * r
                key, err_key = f"aperture_sum_{k}", f"aperture_sum_err_{k}"
                if key not in phot.colnames:
                    key, err_key = "aperture_sum", "aperture_sum_err"
                raw = np.asarray(phot[key], dtype=float)
                raw_err = np.asarray(phot[err_key], dtype=float)
                fluxes[r][idx] = raw - med * area
                with np.errstate(divide="ignore", invalid="ignore"):
                    sky_term = area**2 * std**2 / np.where(npix > 0, npix, np.nan)
                errs[r][idx] = np.sqrt(raw_err**2 + sky_term)
            if progress is not None and suffix == "":
                progress(len(idx))
        if suffix == "":
            for r in rads:
                out[flux_column(r)] = fluxes[r]
                out[flux_column(r, "flux_err")] = errs[r]
            out["sky_median"], out["sky_std"], out["sky_npix"] = sky_med, sky_std, sky_n
        else:
            out["flux_ext"], out["flux_err_ext"] = fluxes[rads[0]], errs[rads[0]]
            out["sky_median_ext"] = sky_med

    # Flags: computed on integer pixel boxes around each source, vectorised.
    edge = np.zeros(n, dtype=bool)
    edge[inside] = (
        (x[inside] - r_max < -0.5)
        | (x[inside] + r_max > nx - 0.5)
        | (y[inside] - r_max < -0.5)
        | (y[inside] + r_max > ny - 0.5)
    )
    peak = np.full(n, np.nan)
    for batch in _batches(len(inside), 5000):
        if batch.stop > batch.start:
            values, dist, valid = _neighbourhood(img.data, bad, xy_in[batch], r_max)
            core = dist <= r_max
            edge[inside[batch]] |= (core & ~valid).any(axis=1)
            peak[inside[batch]] = np.where(core & valid, values, -np.inf).max(axis=1)
    peak[np.isneginf(peak)] = np.nan
    out["peak"] = peak
    saturated = np.zeros(n, dtype=bool)
    if img.saturation is not None:
        saturated = np.nan_to_num(peak, nan=-np.inf) >= img.saturation
    crowd_r = r_out if crowding_radius is None else float(crowding_radius)
    crowded = np.zeros(n, dtype=bool)
    if len(inside) > 1:
        tree = cKDTree(xy_in)
        counts = tree.query_ball_point(xy_in, crowd_r, return_length=True)
        crowded[inside] = counts > 1
    out["flag_outside"] = outside
    out["flag_edge"] = edge
    out["flag_saturated"] = saturated
    out["flag_crowded"] = crowded
    out.attrs.update(
        {
            "image": img.label,
            "radii_pix": radii,
            "annulus_pix": [r_in, r_out],
            "pixel_origin": 0,
            "flux_unit": "rate" if img.is_rate else "counts",
        }
    )
    return out


def _neighbourhood(
    data: np.ndarray, bad: np.ndarray, xy: np.ndarray, radius: float, inner: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixels around each position: values, centre distances, validity (N x K arrays).

    Only pixel offsets that can fall within ``inner <= d <= radius`` of a position anywhere
    inside its central pixel are kept (a ring of the box), which keeps K small.
    """
    half = int(np.ceil(radius)) + 1
    offsets = np.arange(-half, half + 1)
    dy, dx = (a.ravel() for a in np.meshgrid(offsets, offsets, indexing="ij"))
    d0 = np.hypot(dx, dy)
    ring = (d0 <= radius + 0.75) & (d0 >= inner - 0.75)
    dx, dy = dx[ring], dy[ring]
    ix = np.rint(xy[:, 0]).astype(int)[:, None] + dx[None, :]
    iy = np.rint(xy[:, 1]).astype(int)[:, None] + dy[None, :]
    ny, nx = data.shape
    on_image = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
    ixc, iyc = np.clip(ix, 0, nx - 1), np.clip(iy, 0, ny - 1)
    values = data[iyc, ixc]
    valid = on_image & ~bad[iyc, ixc]
    dist = np.hypot(ix - xy[:, 0:1], iy - xy[:, 1:2])
    return values, dist, valid


def _nanmedian_rows(values: np.ndarray) -> np.ndarray:
    """Median of each row ignoring NaN (vectorised; `numpy.nanmedian` loops over rows)."""
    s = np.sort(values, axis=1)  # NaN sort to the end
    n = np.isfinite(s).sum(axis=1)
    rows = np.arange(len(s))
    lo = np.clip((n - 1) // 2, 0, None)
    hi = np.clip(n // 2, 0, s.shape[1] - 1)
    med = 0.5 * (s[rows, lo] + s[rows, hi])
    med[n == 0] = np.nan
    return med


def _clipped_annulus(
    data: np.ndarray, bad: np.ndarray, xy: np.ndarray, r_in: float, r_out: float, sigma: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sigma-clipped median, standard deviation and pixel count of each annulus (vectorised).

    Pixels whose centres lie in ``r_in <= d < r_out`` are used; clipping iterates about the
    median until no pixel is rejected (at most 10 rounds), like `astropy.stats.SigmaClip`.
    """
    values, dist, valid = _neighbourhood(data, bad, xy, r_out, inner=r_in)
    use = valid & (dist >= r_in) & (dist < r_out)
    vals = np.where(use, values, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for _ in range(10):
            med = _nanmedian_rows(vals)
            std = np.nanstd(vals, axis=1)
            reject = np.abs(vals - med[:, None]) > sigma * std[:, None]
            if not reject.any():
                break
            vals = np.where(reject, np.nan, vals)
        med = _nanmedian_rows(vals)
        std = np.nanstd(vals, axis=1)
    npix = np.isfinite(vals).sum(axis=1).astype(float)
    return med, std, npix
