"""Time ECSV writing (astropy's writer vs xrbid._ecsv) and the imports the I/O layer saves.

Run: ``.venv/bin/python benchmarks/bench_ecsv.py`` (``--rows N`` for the large table,
``--repeat N`` for best-of-N). Prints wall and CPU seconds, best of N, and the load average.

1. The four ECSV tables of ``xrbid run examples/m101.toml`` (radii, best, candidates,
   calibrators; made here with the pipeline on the shipped data): ``write_table`` as it was
   (the astropy Table written by ``Table.write(format="ascii.ecsv")``) and as it is, with a
   check that both files are the same bytes.
2. A photometry-style table of ``--rows`` rows (1,000,000 by default): text IDs, float64
   positions, magnitudes with NaN, float32 fluxes, nullable integers and booleans.
3. Imports, each in fresh processes after ``xrbid.tables``, pandas and astropy.units (what every
   xrbid command has loaded): ``astropy.table`` with the YAML dumper's ``astropy.io.misc.yaml``
   (what writing ECSV through astropy loads: all of astropy's table readers and writers,
   astropy.coordinates and astropy.time) and ``astropy.io.votable`` (what reading a CSCview
   VOTable loaded for its metadata); and a whole process that reads the M101 VOTable and
   writes it as ECSV, as it is now and with those imports added.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from xrbid._ecsv import astropy_table
from xrbid._io import atomic_output
from xrbid.schema import _units_of
from xrbid.tables import _file_columns, read_table, write_table

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "testdata"
M101 = DATA / "csc-m101" / "cscresults_M101.vot"
TABLES = ["radii.ecsv", "best.ecsv", "candidates.ecsv", "calibrators.ecsv"]


def best_of(repeat: int, fn) -> tuple[float, float]:
    """Best wall and best CPU seconds of ``repeat`` calls."""
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus)


def write_with_astropy(df: pd.DataFrame, path: Path) -> None:
    """``write_table`` as it was: the same columns, written by astropy's ECSV writer."""
    columns, _ = _file_columns(df, _units_of(df), "ecsv")
    with atomic_output(path, True) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        astropy_table(columns).write(tmp, format="ascii.ecsv", overwrite=True)


def compare(label: str, df: pd.DataFrame, folder: Path, repeat: int) -> tuple[float, float]:
    old, new = folder / "astropy.ecsv", folder / "xrbid.ecsv"
    t_old = best_of(repeat, lambda: write_with_astropy(df, old))
    t_new = best_of(repeat, lambda: write_table(df, new, overwrite=True))
    same = old.read_bytes() == new.read_bytes()
    print(
        f"  {label:<34} {len(df):>9} rows x {df.shape[1]:>2}: astropy {t_old[0]:7.3f} s "
        f"({t_old[1]:.3f} CPU)  xrbid {t_new[0]:7.3f} s ({t_new[1]:.3f} CPU)  "
        f"{t_old[1] / t_new[1]:5.1f}x (CPU)  same bytes: {same}"
    )
    return t_old[1], t_new[1]


def m101_tables(folder: Path) -> dict[str, pd.DataFrame]:
    sys.path.insert(0, str(ROOT))
    from tests.pipeline.conftest import m101_toml
    from xrbid.pipeline import run_galaxy

    config = folder / "m101.toml"
    config.write_text(m101_toml(), encoding="utf-8")
    run_galaxy(config)
    return {name: read_table(folder / "out" / name, allow_empty=True) for name in TABLES}


def photometry(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    mag = rng.normal(24.0, 1.5, rows)
    mag[rng.random(rows) < 0.2] = np.nan
    df = pd.DataFrame(
        {
            "source_id": pd.array([f"2CXO J{i:014d}" for i in range(rows)], dtype="str"),
            "ra": 210.8 + rng.normal(0, 0.05, rows),
            "dec": 54.35 + rng.normal(0, 0.05, rows),
            "mag_F555W": mag,
            "flux": rng.lognormal(0, 1, rows).astype(np.float32),
            "n_obs": pd.array(rng.integers(1, 40, rows), dtype="Int64"),
            "saturated": pd.array(rng.random(rows) < 0.1, dtype="boolean"),
        }
    )
    df.loc[rng.random(rows) < 0.05, "n_obs"] = pd.NA
    df.loc[rng.random(rows) < 0.05, "saturated"] = pd.NA
    df.attrs["units"] = {"mag_F555W": "mag", "flux": "erg/s/cm^2"}
    return df


def fresh(code: str, repeat: int) -> tuple[float, float]:
    """Best of ``repeat`` fresh processes: the number ``code`` prints, and the process's CPU."""
    printed, cpu = [], []
    for _ in range(repeat):
        before = os.times()
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        after = os.times()
        res.check_returncode()
        printed.append(float(res.stdout.strip().splitlines()[-1]))
        cpu.append(
            after.children_user
            - before.children_user
            + after.children_system
            - before.children_system
        )
    return min(printed), min(cpu)


def bench_imports(repeat: int, folder: Path) -> None:
    base = "import time, pandas, astropy.units, xrbid.tables\n"
    timed = "t = time.process_time()\nimport {}\nprint(time.process_time() - t)\n"
    t_write = fresh(base + timed.format("astropy.table, astropy.io.misc.yaml"), repeat)[0]
    t_read = fresh(base + timed.format("astropy.io.votable"), repeat)[0]
    print(f"  astropy.table + astropy.io.misc.yaml (old ECSV writer): {t_write:.3f} s CPU")
    print(f"  astropy.io.votable alone (old VOTable metadata):         {t_read:.3f} s CPU")
    job = (
        "import time\nt = time.perf_counter()\n{}"
        "from xrbid.tables import read_table, write_table\n"
        f"write_table(read_table({str(M101)!r}), {str(folder / 'm101.ecsv')!r}, overwrite=True)\n"
        "print(time.perf_counter() - t)\n"
    )
    now = fresh(job.format(""), repeat)
    old = fresh(
        job.format("import astropy.io.votable, astropy.table, astropy.io.misc.yaml\n"), repeat
    )
    print(f"  read M101 VOTable + write ECSV, whole process: {now[1]:.3f} s CPU ({now[0]:.3f} s "
          f"wall) now, {old[1]:.3f} s CPU ({old[0]:.3f} s wall) with the old imports  ->  "
          f"{old[1] - now[1]:.3f} s CPU saved")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--big-repeat", type=int, default=1)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="xrbid-bench-ecsv-") as tmp:
        folder = Path(tmp)
        print(f"1. the M101 tables of `xrbid run` (best of {args.repeat}):")
        total_old = total_new = 0.0
        for name, df in m101_tables(folder).items():
            o, n = compare(name, df, folder, args.repeat)
            total_old, total_new = total_old + o, total_new + n
        print(f"  all four: astropy {total_old:.3f} s CPU, xrbid {total_new:.3f} s CPU "
              f"({total_old / total_new:.1f}x)")  # fmt: skip
        print(f"2. a photometry-style table (best of {args.big_repeat}):")
        compare("photometry", photometry(args.rows), folder, args.big_repeat)
        print(f"3. imports, fresh processes (best of {args.repeat}):")
        bench_imports(args.repeat, folder)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
