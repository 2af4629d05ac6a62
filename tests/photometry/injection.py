"""Artificial stars for the real-image tests (seeded; pixel-integrated Gaussian PSF + Poisson)."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import erf


def gaussian_star(shape, x0, y0, flux, sigma):
    """A Gaussian star integrated over pixels (0-based centre x0, y0), total ``flux``."""
    ny, nx = shape
    xs = np.arange(nx)
    ys = np.arange(ny)
    s = sigma * np.sqrt(2.0)
    fx = 0.5 * (erf((xs + 0.5 - x0) / s) - erf((xs - 0.5 - x0) / s))
    fy = 0.5 * (erf((ys + 0.5 - y0) / s) - erf((ys - 0.5 - y0) / s))
    return flux * np.outer(fy, fx)


def blank_positions(rng, shape, avoid_xy, n, *, clearance=12.0, margin=20, spacing=25.0):
    """``n`` positions at least ``clearance`` from ``avoid_xy`` and ``spacing`` from each other."""
    ny, nx = shape
    tree = cKDTree(avoid_xy) if len(avoid_xy) else None
    chosen: list[tuple[float, float]] = []
    for _ in range(20000):
        x, y = rng.uniform(margin, nx - margin), rng.uniform(margin, ny - margin)
        if tree is not None and tree.query([x, y])[0] < clearance:
            continue
        if chosen and np.min(np.hypot(*(np.array(chosen) - [x, y]).T)) < spacing:
            continue
        chosen.append((x, y))
        if len(chosen) == n:
            break
    return np.array(chosen)


def inject(data, xy, fluxes, sigma, effective_gain, rng):
    """Add stars with Poisson noise (electrons = flux x effective gain) to a copy of ``data``."""
    out = np.array(data, dtype=float)
    for (x0, y0), f in zip(xy, fluxes):
        model = gaussian_star(data.shape, x0, y0, f, sigma)
        electrons = rng.poisson(model * effective_gain)
        out += electrons / effective_gain
    return out
