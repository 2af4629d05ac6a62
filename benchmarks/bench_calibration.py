"""Time the calibration fits: the photometric fit of 100,000 stars with `.p3` stepwise.

A second case adds dophot3's non-linear universal colour term SC (fitted by variable
projection) and the sub-pixel terms: ``-U '@.p3,&PA,&.s,&SC'`` on B, V, R, I.

Run: ``.venv/bin/python benchmarks/bench_calibration.py``. The star list is synthetic (seeded):
positions on a 4096 x 4096 detector in 4 images, B - V colours, airmasses, per-star errors,
8% outliers, and a model with a zero point, a colour term, an extinction term and two of the
nine `.p3` spatial terms. Also runs the WCS-fit benchmark (``bench_calibration_wcs.py``) when
it is present.
"""

from __future__ import annotations

import importlib.util
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd

from xrbid.calibration.photometric import fit_photometric

N_STARS = 100_000
TERMS = "@.p3,&PC,&PA"


def star_list(n: int, seed: int = 0) -> pd.DataFrame:
    """Synthetic stars: mag - V = -25.3 + 0.03 X - 0.04 Y^2 + 0.08 (B-V) + 0.15 airmass."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 4, n)
    airmass = np.array([1.05, 1.3, 1.6, 1.9])[image] + rng.normal(0, 0.02, n)
    x, y = rng.uniform(0, 4096, n), rng.uniform(0, 4096, n)
    big_x, big_y = (x - 2048) / 2048, (y - 2048) / 2048
    v = rng.uniform(14, 21, n)
    bv = rng.uniform(-0.2, 1.6, n)
    err = rng.uniform(0.005, 0.05, n)
    mag = v - 25.3 + 0.03 * big_x - 0.04 * big_y**2 + 0.08 * bv + 0.15 * airmass
    mag += rng.normal(0, err)
    bad = rng.random(n) < 0.08
    mag[bad] += rng.choice([-1.0, 1.0], bad.sum()) * rng.uniform(0.2, 2.0, bad.sum())
    return pd.DataFrame(
        {
            "x": x,
            "y": y,
            "image": image.astype(str),
            "airmass": airmass,
            "B": v + bv,
            "V": v,
            "mag": mag,
            "mag_err": err,
        }
    )


def bench_photometric(repeats: int = 5) -> None:
    stars = star_list(N_STARS)
    kwargs = {"ref_mag": "V", "filters": ("B", "V"), "xy_center": (2048, 2048), "xy_scale": 2048}
    fit_photometric(stars, TERMS, **kwargs)  # warm-up (imports, caches)
    times, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        sol = fit_photometric(stars, TERMS, **kwargs)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    print(
        f"photometric fit, {N_STARS:,} stars, -U '{TERMS}' (stepwise over 9 spatial terms): "
        f"wall median {statistics.median(times):.3f} s, best {min(times):.3f} s; "
        f"CPU median {statistics.median(cpu):.3f} s ({repeats} runs)"
    )
    print(
        f"  kept {','.join(sol.kept)}; dropped {','.join(sol.dropped)}; "
        f"{sol.n_used:,} stars used, {sol.n_clipped:,} clipped, rms {sol.rms:.4f} mag"
    )


def bench_nonlinear(repeats: int = 3) -> None:
    stars = star_list(N_STARS, seed=1)
    rng = np.random.default_rng(2)
    bv = (stars["B"] - stars["V"]).to_numpy()
    stars["R"] = stars["V"] - 0.5 * bv - rng.normal(0, 0.15, N_STARS)
    stars["I"] = stars["R"] - 0.4 * bv - rng.normal(0, 0.15, N_STARS)
    # SC at v = 0.6 (between V and R): V + 0.6 (R - V), smoothed; here its linear part only,
    # which is what SC equals away from the blends' centres
    stars["mag"] += 0.6 * (stars["R"] - stars["V"]) - 0.08 * bv
    terms = "@.p3,&PA,&.s,&SC"
    kwargs = {"ref_mag": "V", "filters": ("B", "V", "R", "I"), "xy_center": (2048, 2048),
              "xy_scale": 2048}  # fmt: skip
    fit_photometric(stars, terms, **kwargs)
    times, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        sol = fit_photometric(stars, terms, **kwargs)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    print(
        f"photometric fit, {N_STARS:,} stars, -U '{terms}' (non-linear SC): "
        f"wall median {statistics.median(times):.3f} s, best {min(times):.3f} s; "
        f"CPU median {statistics.median(cpu):.3f} s ({repeats} runs); "
        f"SC = {sol['SC'].coefficient:.4f} +- {sol['SC'].error:.4f}"
    )


def bench_wcs() -> None:
    path = Path(__file__).with_name("bench_calibration_wcs.py")
    if not path.exists():
        print("WCS fit: benchmarks/bench_calibration_wcs.py not present")
        return
    spec = importlib.util.spec_from_file_location("bench_calibration_wcs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main()


def main() -> None:
    bench_photometric()
    bench_nonlinear()
    bench_wcs()


if __name__ == "__main__":
    main()
