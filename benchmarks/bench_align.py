"""Benchmark: CSC 2.1 WLS translations for many synthetic stacks at once.

Prints the wall time of `xrbid.align.align_wls_stacks` on 10,000 synthetic stacks (20
detections each, 20% of them paired with an unrelated reference source, one extra field
reference source per detection) and how well the injected shifts are recovered.

    .venv/bin/python benchmarks/bench_align.py [N_STACKS]

Other benchmarks can import `synthetic_stacks` and `time_wls_stacks`.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from xrbid.align import align_wls_stacks
from xrbid.sky import from_tangent_plane


def synthetic_stacks(
    n_stacks: int = 10_000, per_stack: int = 20, outliers: float = 0.2, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Detections and reference sources of ``n_stacks`` stacks spread over the sky.

    Returns (xray, reference, shifts) with shifts of shape (n_stacks, 2), reference − X-ray
    in arcsec.
    """
    rng = np.random.default_rng(seed)
    n = n_stacks * per_stack
    st = np.repeat(np.arange(n_stacks), per_stack)
    ra0 = rng.uniform(0, 360, n_stacks)
    dec0 = np.degrees(np.arcsin(rng.uniform(-0.98, 0.98, n_stacks)))
    shifts = rng.normal(0, 0.3, (n_stacks, 2))
    xi, eta = rng.uniform(-600, 600, (2, n))
    r0 = rng.uniform(0.2, 0.9, n)
    r1 = r0 * rng.uniform(0.5, 1.0, n)
    noise = np.sqrt(r0 * r1) / 2
    x_xi = xi - shifts[st, 0] + rng.normal(0, 1, n) * noise
    x_eta = eta - shifts[st, 1] + rng.normal(0, 1, n) * noise
    bad = rng.uniform(0, 1, n) < outliers
    ang = rng.uniform(0, 2 * np.pi, n)
    rad = 3.0 * np.sqrt(rng.uniform(0, 1, n))
    x_xi = np.where(bad, xi + rad * np.cos(ang), x_xi)
    x_eta = np.where(bad, eta + rad * np.sin(ang), x_eta)
    xra, xdec = from_tangent_plane(x_xi, x_eta, ra0[st], dec0[st])
    rra, rdec = from_tangent_plane(xi, eta, ra0[st], dec0[st])
    fra, fdec = from_tangent_plane(*rng.uniform(-600, 600, (2, n)), ra0[st], dec0[st])
    xray = pd.DataFrame(
        {
            "stack_id": st,
            "ra": xra,
            "dec": xdec,
            "err_r0": r0,
            "err_r1": r1,
            "theta": rng.uniform(0, 10, n),
            "counts": rng.uniform(5, 300, n),
            "ra_stack": ra0[st],
            "dec_stack": dec0[st],
        }
    )
    reference = pd.DataFrame(
        {
            "stack_id": np.r_[st, st],
            "ra": np.r_[rra, fra],
            "dec": np.r_[rdec, fdec],
            "pmra": np.r_[rng.normal(0, 10, n), np.full(n, np.nan)],
            "pmdec": np.r_[rng.normal(0, 10, n), np.full(n, np.nan)],
        }
    )
    return xray, reference, shifts


def time_wls_stacks(n_stacks: int = 10_000, seed: int = 0) -> dict[str, float]:
    """Run the many-stack WLS on synthetic data; return seconds and recovery figures."""
    xray, reference, shifts = synthetic_stacks(n_stacks, seed=seed)
    t0 = time.perf_counter()
    table = align_wls_stacks(xray, reference)
    seconds = time.perf_counter() - t0
    err = np.hypot(table["shift_x"] - shifts[:, 0], table["shift_y"] - shifts[:, 1])
    return {
        "stacks": n_stacks,
        "detections": len(xray),
        "seconds": seconds,
        "median_error_arcsec": float(np.median(err)),
        "p95_error_arcsec": float(np.percentile(err, 95)),
        "qa_flagged": int(table["qa_required"].sum()),
    }


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    r = time_wls_stacks(n)
    print(
        f"WLS (CSC 2.1) on {r['stacks']:,} synthetic stacks ({r['detections']:,} detections, "
        f"20% outliers): {r['seconds']:.2f} s (target < 30 s); shift error median "
        f'{r["median_error_arcsec"]:.4f}", 95th percentile {r["p95_error_arcsec"]:.4f}"; '
        f"{r['qa_flagged']} stacks flagged for QA"
    )


if __name__ == "__main__":
    main()
