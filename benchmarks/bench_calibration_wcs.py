"""Time the WCS fit (matching + fit + clipping) for 10,000 matched stars.

Run: ``.venv/bin/python benchmarks/bench_calibration_wcs.py``. The WCS is the real TAN-SIP
header of an HST ACS/WFC exposure (testdata/hst-acs-47tuc-flt-header, 4096 x 2048 pixels); the
10,000 star positions are synthetic (seeded, uniform over the chip) with 0.02-pixel noise and
2% outliers; the catalogue is their true sky positions, and the image WCS is moved by
(0.6", -0.8"), rotated by 0.01 degree and scaled by 1.0002.
"""

from __future__ import annotations

import statistics
import time
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from xrbid.calibration.astrometry import fit_wcs

N_STARS = 10_000
SHAPE = (2048, 4096)
HEADER = (
    Path(__file__).resolve().parent.parent
    / "testdata"
    / "hst-acs-47tuc-flt-header"
    / "j94f05bgq_flt.fits"
)


def setup() -> tuple[WCS, WCS, np.ndarray, np.ndarray]:
    with fits.open(HEADER) as hdul, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        truth = WCS(hdul[1].header, hdul)
    rng = np.random.default_rng(0)
    xy = np.column_stack(
        [rng.uniform(0, SHAPE[1] - 1, N_STARS), rng.uniform(0, SHAPE[0] - 1, N_STARS)]
    )
    sky = truth.all_pix2world(xy, 0)
    detected = xy + rng.normal(0, 0.02, xy.shape)
    bad = rng.random(N_STARS) < 0.02
    detected[bad] += rng.uniform(1.0, 3.0, (bad.sum(), 2)) * rng.choice([-1, 1], (bad.sum(), 2))
    wrong = truth.deepcopy()
    th = np.radians(0.01)
    rot = 1.0002 * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    m = rot @ wrong.pixel_scale_matrix
    if wrong.wcs.has_cd():
        del wrong.wcs.cd
    wrong.wcs.pc, wrong.wcs.cdelt = m, [1.0, 1.0]
    dec = np.radians(wrong.wcs.crval[1])
    wrong.wcs.crval = wrong.wcs.crval + np.array([0.6 / 3600 / np.cos(dec), -0.8 / 3600])
    wrong.wcs.set()
    return truth, wrong, detected, sky


def max_error(truth: WCS, fitted: WCS) -> float:
    """Largest pixel distance between the two WCSs over a 21 x 21 grid on the chip."""
    gx, gy = np.meshgrid(np.linspace(0, SHAPE[1] - 1, 21), np.linspace(0, SHAPE[0] - 1, 21))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    back = fitted.all_world2pix(truth.all_pix2world(grid, 0), 0, tolerance=1e-9, maxiter=100)
    return float(np.max(np.hypot(*(back - grid).T)))


def main(repeats: int = 5) -> None:
    truth, wrong, xy, sky = setup()
    for fit in ("shift", "rscale", "linear", "sip"):
        kwargs = {"fit": fit, "shape": SHAPE, "sip_degree": 4}
        fit_wcs(wrong, xy, sky[:, 0], sky[:, 1], **kwargs)  # warm-up
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            result = fit_wcs(wrong, xy, sky[:, 0], sky[:, 1], **kwargs)
            times.append(time.perf_counter() - t0)
        print(
            f"WCS fit ({fit}), {result.n_matched:,} matched stars on a 4096x2048 ACS/WFC SIP "
            f"header: wall median {statistics.median(times):.3f} s, best {min(times):.3f} s "
            f"({repeats} runs); {result.n_used:,} used, rms {result.rms_pix:.4f} pix, "
            f"largest error against the true WCS {max_error(truth, result.wcs):.4f} pix"
        )


if __name__ == "__main__":
    main()
