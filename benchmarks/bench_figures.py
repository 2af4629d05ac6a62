"""Time the paper outputs: finder charts (PDF pages, PNG files), the CMD, the paper tables.

Prints wall-clock and CPU (process) time per step. Run with ``make bench`` or
``.venv/bin/python benchmarks/bench_figures.py``.

1. Finder charts of 60 positions placed on the shipped Abell 478 WFPC2 image (600x600,
   0.1"/pix), with the optical sources detected on it as candidates: one multi-page PDF
   (6 per page) and one PNG per source.
2. Colour finder charts (three CANDELS ACS bands, make_lupton_rgb): 20 PNGs.
3. The M101 best observations (555 sources) as AASTeX and MRT tables.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from xrbid import best_observations, positional_uncertainty, read_table
from xrbid.figures import write_finder_charts
from xrbid.paper_tables import write_paper_table
from xrbid.photometry import detect_sources, load_image
from xrbid.selection import find_counterparts

ROOT = Path(__file__).resolve().parent.parent
A478 = ROOT / "testdata" / "hst-wfpc2-abell478" / "a478hst-cutout.fits"
CANDELS = next((ROOT / "testdata" / "hst-acs-candels-goodsn").glob("*.fits"))
M101 = ROOT / "testdata" / "csc-m101" / "cscresults_M101.vot"


def timed(label: str, func) -> None:
    wall0, cpu0 = time.perf_counter(), time.process_time()
    result = func()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    print(f"{label:<58s} {wall:7.2f} s wall {cpu:7.2f} s CPU")
    return result


def main() -> None:
    warnings.simplefilter("ignore")
    image = load_image(A478)
    stars = detect_sources(image, fwhm=2.5)
    rng = np.random.default_rng(1)
    pick = stars.sample(60, random_state=1)
    xray = pd.DataFrame(
        {
            "source_id": [f"X{i:03d}" for i in range(60)],
            "ra": pick["ra"].to_numpy() + rng.normal(0, 0.3, 60) / 3600,
            "dec": pick["dec"].to_numpy() + rng.normal(0, 0.3, 60) / 3600,
            "pu_1sigma": np.full(60, 0.6),
            "pu_2sigma": np.full(60, 1.2),
        }
    )
    cands = find_counterparts(xray, stars)
    candels = {
        f: load_image(CANDELS, ext=i) for i, f in ((1, "F606W"), (2, "F814W"), (3, "F850LP"))
    }
    centre = candels["F814W"].pixel_to_sky(np.full(20, 50.0), np.linspace(30, 70, 20))
    rgb = pd.DataFrame(
        {
            "source_id": [f"C{i}" for i in range(20)],
            "ra": centre[0],
            "dec": centre[1],
            "pu_1sigma": 0.3,
            "pu_2sigma": 0.6,
        }
    )
    pu = positional_uncertainty(read_table(M101), astro_std=(0.2223, 0.3037))
    best = best_observations(pu)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        timed(
            "60 finder charts, grey, one PDF (10 pages)",
            lambda: write_finder_charts(xray, image, out / "f.pdf", cands, distance=350),
        )
        timed(
            "60 finder charts, grey, 60 PNG files",
            lambda: write_finder_charts(xray, image, out / "f.png", cands),
        )
        timed(
            "20 finder charts, RGB (3 ACS bands), 20 PNG files",
            lambda: write_finder_charts(rgb, candels, out / "c.png", size=2.0),
        )
        timed(
            f"M101 {len(best)} best observations -> AASTeX",
            lambda: write_paper_table(best, out / "t.tex"),
        )
        timed(
            f"M101 {len(best)} best observations -> MRT",
            lambda: write_paper_table(best, out / "t.txt", fmt="mrt"),
        )


if __name__ == "__main__":
    main()
