"""Time the foundation steps: M101 load -> unique -> region file, and region files at scale.

Prints wall-clock and CPU (process) time for each step, so that figures taken on a busy machine
can still be compared. Run with ``make bench`` or
``.venv/bin/python benchmarks/bench_tables_regions.py``.

1. M101 (the shipped CSCview VOTable): read_table, unique_sources, write_regions.
2. Synthetic circles (seeded): 1,000,000 fk5 circles with per-row radii written and read back;
   178,000 image-pixel circles (the size of a DAOFind catalogue of an HST mosaic).
3. The astropy ``regions`` package on the same 20,000 circles (serialize and parse) beside
   xrbid, and the equality check between the two.
4. Layouts of the same labelled circles: one per line, and all joined by ``;`` on one line
   (as DS9 writes them): 32,000 and 64,000 regions; reading must take the same time per region.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from xrbid.regions import format_regions, parse_regions, read_regions, write_regions
from xrbid.tables import read_table, unique_sources

ROOT = Path(__file__).resolve().parent.parent
M101 = ROOT / "testdata" / "csc-m101" / "cscresults_M101.vot"


class Timer:
    """Wall and CPU seconds of a block."""

    def __enter__(self):
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall0
        self.cpu = time.process_time() - self.cpu0


def rate(n: int, t: Timer) -> str:
    return (
        f"{t.wall * 1e3:9.1f} ms wall {n / t.wall:>12,.0f}/s | "
        f"{t.cpu * 1e3:9.1f} ms cpu {n / t.cpu:>12,.0f}/s"
    )


def circles(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "ra": rng.uniform(0, 360, n),
            "dec": np.degrees(np.arcsin(rng.uniform(-1, 1, n))),
            "pu_2sigma": rng.uniform(0.3, 20, n),
        }
    )


def bench_m101(folder: Path) -> None:
    print("== M101 (testdata/csc-m101/cscresults_M101.vot)")
    with Timer() as t_load:
        df = read_table(M101)
    with Timer() as t_unique:
        uniq = unique_sources(df)
    with Timer() as t_write:
        write_regions(
            uniq, folder / "m101.reg", radius=10, color="hotpink", width=2,
            label_column="source_id",
        )  # fmt: skip
    print(f"  read_table      {len(df):>7} rows     {rate(len(df), t_load)}")
    print(f"  unique_sources  {len(uniq):>7} sources  {rate(len(df), t_unique)}")
    print(f"  write_regions   {len(uniq):>7} circles  {rate(len(uniq), t_write)}")
    total = t_load.wall + t_unique.wall + t_write.wall
    print(f"  load + unique + region file: {total * 1e3:.1f} ms wall")


def bench_synthetic(folder: Path) -> None:
    n = 1_000_000
    print(f"== {n:,} fk5 circles, per-row radius (seeded synthetic)")
    df = circles(n, 1)
    path = folder / "million.reg"
    # warm up once (imports of pyarrow's CSV reader and compute kernels), so that the figures
    # below are throughput; the one-off start-up is printed separately
    with Timer() as t:
        parse_regions(format_regions(circles(1000, 0), radius=1))
    print(f"  first call (imports, 1000 circles): {t.wall * 1e3:.0f} ms wall")
    with Timer() as t:
        text = format_regions(df, radius_column="pu_2sigma")
    print(f"  format_regions  {rate(n, t)}")
    with Timer() as t:
        write_regions(df, path, radius_column="pu_2sigma")
    print(f"  write_regions   {rate(n, t)}   ({path.stat().st_size / 1e6:.0f} MB)")
    with Timer() as t:
        back = read_regions(path)
    print(f"  read_regions    {rate(n, t)}")
    err = max(np.abs(back["ra"] - df["ra"]).max(), np.abs(back["dec"] - df["dec"]).max())
    rel = np.abs(back["radius"] / df["pu_2sigma"] - 1).max()
    print(f"  round trip: max |position error| {err:.1e} deg, max radius error {rel:.1e} (rel)")

    labelled = df.assign(source_id=[f"2CXO J{i:06d}" for i in range(n)])
    with Timer() as t:
        text = format_regions(labelled, radius=2, label_column="source_id")
    print(f"  format_regions with labels   {rate(n, t)}")
    with Timer() as t:
        parse_regions(text)
    print(f"  parse_regions with labels    {rate(n, t)}")

    m = 178_000
    print(f"== {m:,} image circles (DAOFind-sized catalogue, 0-based x/y)")
    rng = np.random.default_rng(2)
    stars = pd.DataFrame({"x": rng.uniform(0, 8000, m), "y": rng.uniform(0, 8000, m)})
    with Timer() as t:
        write_regions(stars, folder / "daofind.reg", radius=3, system="image")
    print(f"  write_regions   {rate(m, t)}")
    with Timer() as t:
        read_regions(folder / "daofind.reg")
    print(f"  read_regions    {rate(m, t)}")


def bench_regions_package() -> None:
    from astropy import units as u
    from astropy.coordinates import SkyCoord
    from regions import CircleSkyRegion, Regions

    n = 20_000
    print(f"== the same {n:,} fk5 circles: astropy regions package vs xrbid")
    df = circles(n, 3)
    with Timer() as t:
        ours = format_regions(df, radius_column="pu_2sigma")
    print(f"  xrbid   format  {rate(n, t)}")
    with Timer() as t:
        ours_back = parse_regions(ours)
    print(f"  xrbid   parse   {rate(n, t)}")

    centers = SkyCoord(df["ra"].to_numpy() * u.deg, df["dec"].to_numpy() * u.deg, frame="fk5")
    shapes = Regions(
        [
            CircleSkyRegion(c, r * u.arcsec)
            for c, r in zip(centers, df["pu_2sigma"].to_numpy(), strict=True)
        ]
    )
    with Timer() as t:
        theirs = shapes.serialize(format="ds9")
    print(f"  regions serialize {rate(n, t)}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Timer() as t:
            theirs_back = Regions.parse(ours, format="ds9")
    print(f"  regions parse   {rate(n, t)}")

    # equality: the regions package reading xrbid's file gets the table's numbers back ...
    ra = np.array([r.center.ra.deg for r in theirs_back])
    dec = np.array([r.center.dec.deg for r in theirs_back])
    rad = np.array([r.radius.to_value(u.arcsec) for r in theirs_back])
    d_pos = max(np.abs(ra - df["ra"]).max(), np.abs(dec - df["dec"]).max())
    d_rad = np.abs(rad / df["pu_2sigma"] - 1).max()
    same = np.array_equal(ra, ours_back["ra"]) and np.array_equal(dec, ours_back["dec"])
    print(
        f"  regions.parse(xrbid file) vs table: max |position diff| {d_pos:.1e} deg, "
        f"radius {d_rad:.1e} (rel); identical floats to xrbid's own parse: {same}"
    )
    # ... and xrbid reads the regions package's file exactly as the regions package does
    again = Regions.parse(theirs, format="ds9")
    ours_of_theirs = parse_regions(theirs)
    d_ra = np.abs(ours_of_theirs["ra"].to_numpy() - [r.center.ra.deg for r in again]).max()
    d_dec = np.abs(ours_of_theirs["dec"].to_numpy() - [r.center.dec.deg for r in again]).max()
    d_r = np.abs(
        ours_of_theirs["radius"].to_numpy() - [r.radius.to_value(u.arcsec) for r in again]
    ).max()
    print(
        f"  xrbid vs regions parsing the regions package's file: max |diff| "
        f"{max(d_ra, d_dec):.1e} deg, radius {d_r:.1e} arcsec"
    )


def bench_layouts() -> None:
    for n in (32_000, 64_000):
        print(f"== {n:,} labelled fk5 circles: one per line vs joined by ';' on one line")
        df = circles(n, 4).assign(source_id=[f"2CXO J{i:06d}" for i in range(n)])
        text = format_regions(df, radius=2, label_column="source_id")
        lines = text.split("\n")
        shapes = [line for line in lines if line.startswith("circle")]
        header = [line for line in lines if line and not line.startswith("circle")]
        joined = "\n".join(header) + "\n" + ";".join(shapes) + "\n"
        for name, layout in (("one per line", text), ("joined by ';'", joined)):
            with Timer() as t:
                back = parse_regions(layout)
            assert len(back) == n
            print(f"  {name:<14} {rate(n, t)}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bench_m101(folder)
        bench_synthetic(folder)
    bench_regions_package()
    bench_layouts()


if __name__ == "__main__":
    main()
