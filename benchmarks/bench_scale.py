"""CSC at full scale: VOTable and Parquet loads, radii and best observation at millions of rows.

Each goal of issue 13 is printed beside its reference, measured in the same run. Every timed
case runs in its own Python process (imports done before the clock starts), so that its peak
memory (``ru_maxrss``) is its own. Synthetic tables are M101's rows (the shipped CSCview
VOTable, testdata/csc-m101/) drawn with replacement (seeded), in CSCview's own layout.

Run with ``.venv/bin/python benchmarks/bench_scale.py [--rows-1m N] [--rows-full N]``; it needs
about 4 GB of free disk under the temporary folder and, for astropy's reader at 1M rows, about
7 GB of memory for a minute.

Goals (Chandra Source Catalog 2.1: 1.3 million detections, 2.14 million with upper limits):

* VOTable TABLEDATA at 1M rows within 2x of the bytes-to-C-parser limit (body read whole, a
  few ``bytes.replace`` calls, ``pandas.read_csv``) and >= 3x faster than astropy's reader;
  peak memory <= 3x the file size at 2.14M rows.
* Parquet within 1.3x of ``pandas.read_parquet``.
* Radii within 3x of the bare Kim et al. 2007 formula in numpy.
* 2.14M rows through load (Parquet) + radii + best in < 5 s and < 4 GB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
M101 = ROOT / "testdata" / "csc-m101" / "cscresults_M101.vot"
STD = (0.3813, 0.3037)

PRELUDE = """
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
path = sys.argv[1]
def clock():
    return time.perf_counter(), time.process_time()
def since(start):
    return time.perf_counter() - start[0], time.process_time() - start[1]
def report(start, **extra):
    wall, cpu = since(start) if isinstance(start, tuple) else (start, 0.0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": wall, "cpu": cpu, "peak": peak, **extra}))
"""

CASES = {
    # the bytes-to-C-parser limit: CSCview's exact layout, no checks, no types
    "limit": """
import csv, io
import pandas as pd
t0 = clock()
raw = open(path, "rb").read()
body = raw[raw.index(b"<TABLEDATA>") + 11 : raw.index(b"</TABLEDATA>")].strip()
del raw
body = body.replace(b"</TD>\\n  </TR>\\n  <TR>\\n    <TD>", b"\\x1e")
body = body.replace(b"</TD>\\n    <TD>", b"\\x1f")
body = body.removeprefix(b"<TR>\\n    <TD>").removesuffix(b"</TD>\\n  </TR>")
df = pd.read_csv(io.BytesIO(body), sep="\\x1f", lineterminator="\\x1e", header=None,
                 quoting=csv.QUOTE_NONE, engine="c", low_memory=False)
report(t0, rows=len(df))
""",
    "xrbid_votable": """
from xrbid._votable import read_tabledata
import astropy.io.votable  # noqa: imported before the clock, as in a running session
t0 = clock()
df, units = read_tabledata(path)
report(t0, rows=len(df))
""",
    "astropy_votable": """
from astropy.io import votable
t0 = clock()
tab = votable.parse(path).get_first_table().to_table(use_names_over_ids=True)
report(t0, rows=len(tab))
""",
    "to_parquet": """
from xrbid.tables import read_table, write_table
df = read_table(path)
write_table(df, sys.argv[2], overwrite=True)
report(0.0, rows=len(df))
""",
    "sample_parquet": """
import numpy as np
from xrbid.tables import read_table, write_table
m101 = read_table(path)
pick = np.random.default_rng(13).integers(0, len(m101), int(sys.argv[3]))
write_table(m101.iloc[pick].reset_index(drop=True), sys.argv[2], overwrite=True)
report(0.0, rows=len(pick))
""",
    "pandas_parquet": """
import pandas as pd
t0 = clock()
df = pd.read_parquet(path)
report(t0, rows=len(df))
""",
    "xrbid_parquet": """
from xrbid.tables import read_table
import astropy.units, pyarrow.parquet, yaml  # noqa: imported before the clock
t0 = clock()
df = read_table(path)
report(t0, rows=len(df))
""",
    "radii": """
import numpy as np
from xrbid.tables import read_table
from xrbid.uncertainty import positional_uncertainty
df = read_table(path)
s = float(np.hypot(*STD))

def bare(theta, counts):
    c = np.log10(counts)
    r68 = 10 ** np.where(c <= 2.1227, 0.1137 * theta - 0.4600 * c - 0.2398,
                         0.1031 * theta - 0.1945 * c - 0.8034)
    r95 = 10 ** np.where(c <= 2.1393, 0.1145 * theta - 0.4958 * c + 0.1932,
                         0.0968 * theta - 0.2064 * c - 0.4260)
    return np.hypot(r68, s), np.hypot(r95, 2 * s)

bare_s, pu_s = [], []
for _ in range(3):
    t0 = clock()
    with np.errstate(all="ignore"):
        bare(df["theta"].to_numpy(), df["counts"].to_numpy())
    bare_s.append(since(t0))
    t0 = clock()
    positional_uncertainty(df, STD)
    pu_s.append(since(t0))
print(json.dumps({"seconds": min(w for w, _ in pu_s), "cpu": min(c for _, c in pu_s),
                  "bare": min(w for w, _ in bare_s), "bare_cpu": min(c for _, c in bare_s)}))
""",
    "pipeline": """
from xrbid.selection import best_observations
from xrbid.tables import read_table
from xrbid.uncertainty import positional_uncertainty
import astropy.units, pyarrow.parquet, yaml  # noqa: imported before the clock
t0 = clock()
df = read_table(path)
t1 = since(t0)
pu = positional_uncertainty(df, STD)
t2 = since(t0)
best = best_observations(pu)
t3 = since(t0)
report(t0, load=t1, radii=[b - a for a, b in zip(t1, t2)], best=[b - a for a, b in zip(t2, t3)],
       rows=len(df), sources=len(best))
""",
}


def run(case: str, *args: object) -> dict:
    code = PRELUDE + f"STD = {STD!r}\n" + textwrap.dedent(CASES[case])
    done = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"{case} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def synthetic_votable(rows: int, path: Path, seed: int = 13) -> Path:
    """M101's TABLEDATA rows drawn with replacement, in the file's own layout."""
    src = M101.read_bytes()
    start = src.index(b"<TABLEDATA>") + len(b"<TABLEDATA>")
    end = src.index(b"</TABLEDATA>")
    parts = src[start:end].split(b"</TR>")
    table_rows, tail = [p + b"</TR>" for p in parts[:-1]], parts[-1]
    pick = np.random.default_rng(seed).integers(0, len(table_rows), rows)
    with open(path, "wb") as out:
        out.write(src[:start])
        for k in range(0, rows, 200_000):
            out.write(b"".join([table_rows[i] for i in pick[k : k + 200_000]]))
        out.write(tail + src[end:])
    return path


def gb(n: float) -> str:
    return f"{n / 1e9:.2f} GB"


def seconds(r: dict) -> str:
    return f"{r['seconds']:7.2f} s wall {r['cpu']:7.2f} s cpu"


def timing(r: dict) -> str:
    return f"{seconds(r)}  peak {gb(r['peak'])}"


def goal(text: str, ours: dict, ref: dict, ok) -> str:
    """A goal line: the ratio of wall times and of CPU times, each judged by ``ok``."""
    wall, cpu = ours["seconds"] / ref["seconds"], ours["cpu"] / ref["cpu"]
    return (
        f"  goal: {text:<24}{wall:6.2f} x wall {verdict(ok(wall))}"
        f"   {cpu:6.2f} x cpu {verdict(ok(cpu))}"
    )


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows-1m", type=int, default=1_000_000)
    parser.add_argument("--rows-full", type=int, default=2_140_000)
    parser.add_argument("--skip-astropy", action="store_true", help="skip astropy's 1M read")
    parser.add_argument(
        "--skip-votable",
        action="store_true",
        help="only the Parquet, radii and pipeline goals (the Parquet file is built from the "
        "M101 rows directly)",
    )
    opts = parser.parse_args()
    print("(wall times on a shared machine; the CPU time of the process is printed beside)")

    with tempfile.TemporaryDirectory(prefix="xrbid-bench-scale-") as tmp:
        folder = Path(tmp)
        parquet = folder / "full.parquet"
        if not opts.skip_votable:
            print(f"== VOTable TABLEDATA, {opts.rows_1m:,} rows (synthetic from M101)")
            vot = synthetic_votable(opts.rows_1m, folder / "m1.vot")
            limit, fast = run("limit", vot), run("xrbid_votable", vot)
            print(f"  file                         {gb(vot.stat().st_size)}")
            print(f"  bytes -> C parser (limit)    {timing(limit)}")
            print(f"  xrbid read_tabledata         {timing(fast)}")
            print(goal("<= 2x the limit", fast, limit, lambda x: x <= 2))
            if not opts.skip_astropy:
                slow = run("astropy_votable", vot)
                print(f"  astropy votable.parse        {timing(slow)}")
                print(goal("<= 1/3 of astropy's", fast, slow, lambda x: x <= 1 / 3))
            vot.unlink()

            print(f"== VOTable TABLEDATA, {opts.rows_full:,} rows (synthetic from M101)")
            vot = synthetic_votable(opts.rows_full, folder / "full.vot")
            size = vot.stat().st_size
            fast = run("xrbid_votable", vot)
            print(f"  file                         {gb(size)}")
            print(f"  xrbid read_tabledata         {timing(fast)}")
            ratio = fast["peak"] / size
            print(f"  goal: peak <= 3x file size  {ratio:6.2f} x      {verdict(ratio <= 3)}")
            run("to_parquet", vot, parquet)
            vot.unlink()
        else:
            run("sample_parquet", M101, parquet, opts.rows_full)

        print(f"== Parquet, radii, best: {opts.rows_full:,} rows (synthetic from M101)")
        ref, ours = run("pandas_parquet", parquet), run("xrbid_parquet", parquet)
        print(f"  file                         {gb(parquet.stat().st_size)}")
        print(f"  pandas.read_parquet          {timing(ref)}")
        print(f"  xrbid read_table (.parquet)  {timing(ours)}")
        print(goal("<= 1.3x read_parquet", ours, ref, lambda x: x <= 1.3))

        radii = run("radii", parquet)
        bare = {"seconds": radii["bare"], "cpu": radii["bare_cpu"]}
        print(f"  bare Kim+07 formula (numpy)  {seconds(bare)}")
        print(f"  positional_uncertainty       {seconds(radii)}")
        print(goal("<= 3x the formula", radii, bare, lambda x: x <= 3))

        pipe = run("pipeline", parquet)
        steps = ", ".join(
            f"{k} {pipe[k][0]:.2f} s ({pipe[k][1]:.2f} cpu)" for k in ("load", "radii", "best")
        )
        print(f"  {steps}; {pipe['rows']:,} rows -> {pipe['sources']:,} sources")
        print(f"  load + radii + best          {timing(pipe)}")
        fits = pipe["peak"] < 4e9
        print(
            f"  goal: < 5 s and < 4 GB       wall {verdict(pipe['seconds'] < 5 and fits)}"
            f"   cpu {verdict(pipe['cpu'] < 5 and fits)}"
        )


if __name__ == "__main__":
    main()
