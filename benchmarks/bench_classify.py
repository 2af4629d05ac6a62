"""Benchmark: the classification steps on a galaxy-sized synthetic field.

A 10' x 10' field with 1000 X-ray sources (1-sigma 0.5", 2-sigma 1.0") and 300,000 optical
sources (0.83 per arcsec^2, an HST image of a nearby spiral), magnitudes uniform in 20-28.
Prints the wall time of each step and the numbers it gives:

- `local_density` / `chance_coincidences` (annulus 5-20", 1024 area samples per source);
- `candidate_chance` magnitude-limited;
- `false_match_rate` with 100 shifted catalogues;
- `association_probabilities`;
- `donor_masses` of 10,000 CMD points on the real MIST isochrone in testdata/.

    .venv/bin/python benchmarks/bench_classify.py
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from xrbid.classify import (
    association_probabilities,
    candidate_chance,
    chance_coincidences,
    false_match_rate,
    model_mass,
    read_models,
)
from xrbid.selection import find_counterparts
from xrbid.sky import from_tangent_plane

ROOT = Path(__file__).resolve().parents[1]


def timed(label, func, *args, **kwargs):
    t0 = time.perf_counter()
    out = func(*args, **kwargs)
    print(f"{label:58s} {time.perf_counter() - t0:7.2f} s")
    return out


def main() -> None:
    rng = np.random.default_rng(0)
    half = 300.0
    n_x, n_o = 1000, 300_000
    xx, xy = rng.uniform(-half + 30, half - 30, (2, n_x))
    ra, dec = from_tangent_plane(xx, xy, 210.8, 54.35)
    xray = pd.DataFrame(
        {
            "source_id": [f"X{i}" for i in range(n_x)],
            "ra": ra,
            "dec": dec,
            "pu_1sigma": 0.5,
            "pu_2sigma": 1.0,
        }
    )
    ox, oy = rng.uniform(-half, half, (2, n_o))
    ora, odec = from_tangent_plane(ox, oy, 210.8, 54.35)
    opt = pd.DataFrame({"ra": ora, "dec": odec, "f555w_mag": rng.uniform(20, 28, n_o)})
    cands = timed("find_counterparts (for the candidates)", find_counterparts, xray, opt)
    print(f"  {len(cands)} candidates")
    cc = timed("chance_coincidences (1000 sources, 300k optical)", chance_coincidences, xray, opt)
    print(
        f"  mean density {cc['density'].mean():.4f} arcsec^-2 (true {n_o / (2 * half) ** 2:.4f})"
        f", mean N_chance(2 sigma) {cc['n_chance_2sigma'].mean():.3f}"
    )
    ch = timed(
        "candidate_chance, magnitude-limited",
        candidate_chance,
        cands,
        xray,
        opt,
        mag_column="f555w_mag",
    )
    fm = timed(
        "false_match_rate, 100 shifted catalogues", false_match_rate, xray, opt, n_shifts=100
    )
    print(f"  rate {fm.rate:.4f} +/- {fm.rate_err:.4f}, expected {fm.expected:.4f}")
    ch["density"] = cc.set_index("source_id")["density"].reindex(ch["source_id"]).to_numpy()
    timed("association_probabilities", association_probabilities, ch)
    models = read_models(ROOT / "testdata/mist-isochrone-panstarrs/MIST_iso_5fd2532653c27.iso.cmd")
    c = rng.uniform(-0.5, 2.5, 10_000)
    m = rng.uniform(-2, 14, 10_000)
    timed(
        "model_mass, 10,000 CMD points on a 1460-point isochrone",
        model_mass,
        models,
        c,
        m,
        colour_bands=("g", "i"),
        mag_band="g",
    )


if __name__ == "__main__":
    main()
