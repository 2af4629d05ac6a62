"""Time the core X-ray steps: M101 end to end, a 1,000,000-row table, and WLS on 10,000 stacks.

Run: ``.venv/bin/python benchmarks/bench_core.py`` (add ``--quick`` for smaller synthetic sizes).
Prints one line per measurement; the synthetic tables are generated here (seeded) and are not
real data.

Targets: M101 core steps (unique -> radii -> best -> two region files) < 100 ms;
1,000,000 rows (200,000 sources) through radii + best < 5 s; WLS on 10,000 stacks < 30 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xrbid.regions import write_regions
from xrbid.selection import best_observations, find_counterparts
from xrbid.tables import read_table, unique_sources
from xrbid.uncertainty import method_counts, positional_uncertainty

ROOT = Path(__file__).resolve().parent.parent
M101 = ROOT / "testdata" / "csc-m101" / "cscresults_M101.vot"
STD = (0.3813, 0.3037)  # the XRBID guide's M101 alignment scatter, arcsec


def timed(fn: Callable[[], Any], repeat: int) -> tuple[Any, list[float]]:
    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return result, times


def fmt(times: list[float]) -> str:
    return f"best {min(times) * 1e3:8.1f} ms  median {statistics.median(times) * 1e3:8.1f} ms"


def bench_m101(repeat: int) -> None:
    print(f"M101 ({M101.name}), {repeat} runs per step")
    df, t = timed(lambda: read_table(M101), repeat)
    print(f"  load VOTable          {fmt(t)}  ({len(df)} rows)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)

        def core() -> dict[str, float]:
            steps = {}
            t0 = time.perf_counter()
            unique = unique_sources(df)
            steps["unique"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            pu = positional_uncertainty(df, STD)
            steps["radii"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            best = best_observations(pu)
            steps["best"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            write_regions(
                best,
                tmp / "m101_best_2sig.reg",
                radius_column="pu_2sigma",
                unit="arcsec",
                label_column="source_id",
                overwrite=True,
            )
            write_regions(
                best,
                tmp / "m101_best_1sig.reg",
                radius_column="pu_1sigma",
                unit="arcsec",
                overwrite=True,
            )
            steps["2 region files"] = time.perf_counter() - t0
            steps["_n"] = (len(unique), len(best), method_counts(pu))
            return steps

        runs = [core() for _ in range(repeat)]
    for name in ("unique", "radii", "best", "2 region files"):
        print(f"  {name:<21} {fmt([r[name] for r in runs])}")
    totals = [sum(v for k, v in r.items() if not k.startswith("_")) for r in runs]
    n_unique, n_best, methods = runs[0]["_n"]
    print(f"  core steps total      {fmt(totals)}  (target < 100 ms)")
    print(f"  -> {n_unique} unique sources, {n_best} best rows; pu_method {methods}")

    # counterparts of the 555 best positions among a synthetic HST-like source list
    best = best_observations(positional_uncertainty(df, STD))
    rng = np.random.default_rng(3)
    n_opt = 1_000_000
    ra_c, dec_c = float(best["ra"].median()), float(best["dec"].median())
    optical = pd.DataFrame(
        {
            "ra": ra_c + rng.uniform(-0.25, 0.25, n_opt) / np.cos(np.radians(dec_c)),
            "dec": dec_c + rng.uniform(-0.25, 0.25, n_opt),
            "mag": rng.uniform(18.0, 28.0, n_opt),
        }
    )
    cands, t = timed(lambda: find_counterparts(best, optical), 3)
    print(
        f"  counterparts          {fmt(t)}  ({len(cands):,} candidates among {n_opt:,} "
        "synthetic optical sources)"
    )


def synthetic_csc(n_sources: int, per_source: int, seed: int = 1) -> pd.DataFrame:
    """A CSC-like per-observation table: theta/counts/err_r0 with NaN and zero-count rows."""
    rng = np.random.default_rng(seed)
    n = n_sources * per_source
    ids = np.char.add("S", np.arange(n_sources).astype(str))
    source = np.repeat(ids, per_source)
    rng.shuffle(source)
    theta = rng.uniform(0.0, 15.0, n)
    counts = 10 ** rng.uniform(0.0, 4.0, n)
    theta[rng.random(n) < 0.45] = np.nan
    counts[rng.random(n) < 0.40] = 0.0
    counts[rng.random(n) < 0.001] = np.nan
    return pd.DataFrame(
        {
            "source_id": source,
            "ra": rng.uniform(210.0, 211.0, n),
            "dec": rng.uniform(54.0, 55.0, n),
            "theta": theta,
            "counts": counts,
            "err_r0": rng.uniform(0.2, 6.0, n),
        }
    )


def bench_large(n_sources: int, per_source: int, repeat: int) -> None:
    df = synthetic_csc(n_sources, per_source)
    print(f"synthetic CSC-like table: {len(df):,} rows, {n_sources:,} sources (seeded)")

    def run() -> tuple[float, float, int]:
        t0 = time.perf_counter()
        pu = positional_uncertainty(df, STD)
        t1 = time.perf_counter()
        best = best_observations(pu)
        t2 = time.perf_counter()
        return t1 - t0, t2 - t1, len(best)

    runs = [run() for _ in range(repeat)]
    print(f"  radii                 {fmt([r[0] for r in runs])}")
    print(f"  best                  {fmt([r[1] for r in runs])}  ({runs[0][2]:,} rows)")
    print(f"  radii + best          {fmt([r[0] + r[1] for r in runs])}  (target < 5 s)")


def synthetic_stacks(
    n_stacks: int, seed: int = 2
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
    """Stacks of 12 X-ray detections and 40 reference sources; a known shift each; 20% outliers."""
    rng = np.random.default_rng(seed)
    n_x, n_ref = 12, 40
    ra0 = rng.uniform(0.0, 360.0, n_stacks)
    dec0 = np.degrees(np.arcsin(rng.uniform(-0.95, 0.95, n_stacks)))
    shift = rng.uniform(-1.0, 1.0, (n_stacks, 2))  # arcsec, reference - X-ray
    stack_ref = np.repeat(np.arange(n_stacks), n_ref)
    # reference sources within ~8 arcmin of the stack centre (small-angle offsets in arcsec)
    xi = rng.uniform(-480, 480, stack_ref.size)
    eta = rng.uniform(-480, 480, stack_ref.size)
    cosd = np.cos(np.radians(dec0[stack_ref]))
    ref = pd.DataFrame(
        {
            "stack_id": stack_ref,
            "ra": (ra0[stack_ref] + xi / 3600 / cosd) % 360.0,
            "dec": dec0[stack_ref] + eta / 3600,
        }
    )
    # the first n_x reference sources of each stack are detected in X-rays, shifted back
    pick = (np.arange(n_stacks)[:, None] * n_ref + np.arange(n_x)[None, :]).ravel()
    stack_x = stack_ref[pick]
    noise = rng.normal(0.0, 0.15, (pick.size, 2))
    outlier = rng.random(pick.size) < 0.2
    noise[outlier] = rng.uniform(-2.5, 2.5, (int(outlier.sum()), 2))
    dxi = xi[pick] - shift[stack_x, 0] + noise[:, 0]
    deta = eta[pick] - shift[stack_x, 1] + noise[:, 1]
    cosx = np.cos(np.radians(dec0[stack_x]))
    xray = pd.DataFrame(
        {
            "stack_id": stack_x,
            "ra": (ra0[stack_x] + dxi / 3600 / cosx) % 360.0,
            "dec": dec0[stack_x] + deta / 3600,
            "err_r0": rng.uniform(0.3, 1.0, pick.size),
            "err_r1": rng.uniform(0.2, 0.3, pick.size),
            "ra_stack": ra0[stack_x],
            "dec_stack": dec0[stack_x],
        }
    )
    # the error an oracle that knew the inliers would make: the mean of their noise
    inlier = ~outlier
    n_in = np.bincount(stack_x[inlier], minlength=n_stacks)
    oracle = np.hypot(
        np.bincount(stack_x[inlier], noise[inlier, 0], minlength=n_stacks) / n_in,
        np.bincount(stack_x[inlier], noise[inlier, 1], minlength=n_stacks) / n_in,
    )
    return xray, ref, shift, oracle


def bench_wls(n_stacks: int) -> None:
    try:
        from xrbid.align import align_wls_stacks
    except ImportError as exc:
        print(f"WLS on {n_stacks:,} stacks: not run ({exc})")
        return
    xray, ref, shift, oracle = synthetic_stacks(n_stacks)
    print(
        f"WLS on {n_stacks:,} synthetic stacks ({len(xray):,} detections, {len(ref):,} "
        "reference sources, 20% outliers, seeded)"
    )
    t0 = time.perf_counter()
    sol = align_wls_stacks(xray, ref)
    elapsed = time.perf_counter() - t0
    sol = sol.reindex(np.arange(n_stacks))
    err = np.hypot(sol["shift_x"].to_numpy() - shift[:, 0], sol["shift_y"].to_numpy() - shift[:, 1])
    ok = np.isfinite(err)
    print(f"  align_wls_stacks      {elapsed * 1e3:8.1f} ms  (target < 30 s)")
    print(
        f"  -> {int(ok.sum()):,} stacks solved; |recovered - injected| median "
        f"{np.median(err[ok]):.4f} arcsec, 99th percentile {np.percentile(err[ok], 99):.4f}"
    )
    print(
        f"  -> (noise floor: mean of the inliers' 0.15 arcsec/axis noise, median "
        f"{np.nanmedian(oracle):.4f} arcsec)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10x smaller synthetic sizes")
    parser.add_argument("--repeat", type=int, default=5, help="runs per M101 step")
    args = parser.parse_args(argv)
    scale = 10 if args.quick else 1
    bench_m101(args.repeat)
    bench_large(200_000 // scale, 5, repeat=3)
    bench_wls(10_000 // scale)
    return 0


if __name__ == "__main__":
    sys.exit(main())
