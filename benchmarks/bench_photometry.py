"""Detection + aperture photometry on a 4096x4096 frame: xrbid beside bare photutils calls.

The frame is the real WFPC2 Abell 478 drizzled image (600x600, F814W) tiled 7x7 and cropped
to 4096x4096 (about 36,000 sources), with the image's WCS. Both sides do the same work:
sigma-clipped Background2D (64-pixel boxes, 3x3 filter; estimated once and reused by both
steps on both sides), DAOStarFinder at 5 sigma of the
background RMS map, sky positions from the WCS, aperture photometry in r = 3 pixels with a
sigma-clipped median annulus (6-10 pixels) and the total error (background RMS + Poisson).
Prints the wall time of each side, their ratio and sources per second.

Run:  .venv/bin/python benchmarks/bench_photometry.py
"""

from __future__ import annotations

import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
from astropy.stats import SigmaClip
from photutils.aperture import ApertureStats, CircularAnnulus, CircularAperture
from photutils.aperture import aperture_photometry as pu_aperture_photometry
from photutils.background import Background2D, MedianBackground, StdBackgroundRMS
from photutils.detection import DAOStarFinder
from photutils.utils import calc_total_error

from xrbid.photometry import aperture_photometry, detect_sources, estimate_background, load_image

ROOT = Path(__file__).resolve().parent.parent
IMAGE = ROOT / "testdata" / "hst-wfpc2-abell478" / "a478hst-cutout.fits"
SIZE = 4096
FWHM = 2.0
RADIUS = 3.0
ANNULUS = (6.0, 10.0)


def frame():
    img = load_image(IMAGE)
    reps = SIZE // img.shape[0] + 1
    data = np.tile(img.data, (reps, reps))[:SIZE, :SIZE].copy()
    return replace(img, data=data)


def run_xrbid(img):
    t0 = time.perf_counter()
    bkg = estimate_background(img.data)
    sources = detect_sources(img, fwhm=FWHM, threshold_sigma=5.0, background=bkg)
    t1 = time.perf_counter()
    phot = aperture_photometry(
        img, sources[["x", "y"]], radii=[RADIUS], annulus=ANNULUS, background=bkg
    )
    t2 = time.perf_counter()
    return len(phot), t1 - t0, t2 - t1


def run_bare(img):
    data = img.data
    t0 = time.perf_counter()
    mask = ~np.isfinite(data)
    bkg = Background2D(
        data,
        64,
        mask=mask,
        filter_size=(3, 3),
        sigma_clip=SigmaClip(sigma=3.0, maxiters=10),
        bkg_estimator=MedianBackground(),
        bkg_rms_estimator=StdBackgroundRMS(),
        exclude_percentile=50.0,
    )
    sky, rms = bkg.background, bkg.background_rms
    finder = DAOStarFinder(threshold=5.0 * rms, fwhm=FWHM)
    found = finder.find_stars(data - sky, mask=mask)
    xy = np.column_stack([found["x_centroid"], found["y_centroid"]])
    img.wcs.pixel_to_world(xy[:, 0], xy[:, 1])
    t1 = time.perf_counter()
    error = calc_total_error(np.clip(data - sky, 0, None), rms, img.effective_gain)
    phot = pu_aperture_photometry(data, CircularAperture(xy, r=RADIUS), error=error, mask=mask)
    stats = ApertureStats(
        data, CircularAnnulus(xy, *ANNULUS), mask=mask, sigma_clip=SigmaClip(sigma=3.0)
    )
    phot["aperture_sum"] - stats.median * np.pi * RADIUS**2
    t2 = time.perf_counter()
    return len(phot), t1 - t0, t2 - t1


def main() -> None:
    img = frame()
    print(f"frame: {SIZE}x{SIZE} pixels from {IMAGE.name} tiled; FWHM {FWHM} pix, r {RADIUS} pix")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        n_x, det_x, ph_x = run_xrbid(img)
        n_b, det_b, ph_b = run_bare(img)
    tot_x, tot_b = det_x + ph_x, det_b + ph_b
    print(f"{'':22s}{'detect':>10s}{'photometry':>12s}{'total':>10s}{'sources':>9s}{'src/s':>9s}")
    print(f"{'xrbid':22s}{det_x:9.2f}s{ph_x:11.2f}s{tot_x:9.2f}s{n_x:9d}{n_x / tot_x:9.0f}")
    print(
        f"{'bare photutils':22s}{det_b:9.2f}s{ph_b:11.2f}s{tot_b:9.2f}s{n_b:9d}{n_b / tot_b:9.0f}"
    )
    print(
        f"ratio xrbid / bare photutils: detection {det_x / det_b:.2f}x, "
        f"photometry {ph_x / ph_b:.2f}x, total {tot_x / tot_b:.2f}x (target <= 1.3x)"
    )


if __name__ == "__main__":
    main()
