"""Time `xrbid run`: M101 end to end, a re-run with nothing changed, and 50 galaxies on dask.

Run: ``.venv/bin/python benchmarks/bench_run.py`` (``--galaxies N`` to change the 50).
Prints one line per measurement, all in one sitting, after the machine's baseline: the wall
time of a bare ``python -c "import pandas, astropy"`` (the libraries any run of tables pays
for), so that the absolute figures can be judged on a slow or busy machine.

1. ``xrbid run examples/m101.toml`` (no images) in a fresh output folder, wall time of the
   command (process start, imports and all). Target < 1.0 s.
2. The reference: the same work as one command per step, the way the XRBID guide's workflow
   runs it (a fresh Python process per step, each paying its imports): csc unique, regions
   write, csc select, regions write, align median (plot, matched regions), pu, best (two region
   files), counterparts (region file). Target: `xrbid run` >= 5x faster.
3. A re-run of ``xrbid run examples/m101.toml`` with nothing changed. Target < 0.7 s.
4. 50 galaxies made from the M101 data (every position shifted by a different RA offset, the
   same sky geometry), run one after the other in one process, then on dask with 1 worker and
   with 2 workers, each in a fresh process (as `xrbid run` is: imports and the start of the
   worker pool included); speed-up target >= 1.7x; the outputs (SHA-256 of every table, region
   file, solution and plot) on dask compared with the serial run's: they must be identical.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
XRBID = str(BIN / "xrbid")
DATA = ROOT / "testdata"
OPTICAL = DATA / "m101-optical-xrbid"


def wall(cmd: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - t0


def cpu_of(cmd: list[str], cwd: Path) -> float:
    """User + system CPU seconds of a child command (less sensitive to a busy machine)."""
    before = os.times()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
    after = os.times()
    return (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )


def m101_config(folder: Path) -> Path:
    text = (ROOT / "examples" / "m101.toml").read_text()
    text = text.replace('"../testdata/', f'"{DATA}/')
    text = text.replace('folder = "../demo-output/m101"', f'folder = "{folder / "out"}"')
    path = folder / "m101.toml"
    path.write_text(text)
    return path


def step_commands(folder: Path) -> list[list[str]]:
    ids = re.findall(r'"(2CXO J[^"]+)"', (ROOT / "examples" / "m101.toml").read_text())
    (folder / "calibrators.txt").write_text("\n".join(ids) + "\n")
    vot = str(DATA / "csc-m101" / "cscresults_M101.vot")
    x = [XRBID]
    return [
        [*x, "csc", "unique", vot, "-o", "unique.ecsv"],
        [*x, "regions", "write", "unique.ecsv", "-o", "xray_sources.reg", "--radius", "10arcsec",
         "--label-column", "source_id"],
        [*x, "csc", "select", "unique.ecsv", "--ids-file", "calibrators.txt", "-o",
         "calibrators.ecsv"],
        [*x, "regions", "write", "calibrators.ecsv", "-o", "calibrators.reg", "--radius",
         "2arcsec", "--label-column", "source_id"],
        [*x, "align", "median", "--xray", "calibrators.ecsv", "--optical",
         str(OPTICAL / "M101_astrocorrect.reg"), "--max-sep", "2arcsec", "-o", "alignment.json",
         "--matched-regions", "alignment_matched.reg", "--plot", "alignment.png"],
        [*x, "pu", vot, "--solution", "alignment.json", "-o", "radii.ecsv"],
        [*x, "best", "radii.ecsv", "-o", "best.ecsv", "--regions-2sigma", "best_2sig.reg",
         "--regions-1sigma", "best_1sig.reg"],
        [*x, "counterparts", "best.ecsv", str(OPTICAL / "M101_daoclean_f555w_acs_fk5.reg"), "-o",
         "candidates.ecsv", "--regions", "candidates.reg"],
    ]  # fmt: skip


def baseline(repeat: int) -> None:
    """Wall time of starting Python bare, and of importing pandas and astropy in it."""
    py = sys.executable
    bare = statistics.median(wall([py, "-c", "pass"], ROOT) for _ in range(repeat))
    libs = statistics.median(
        wall([py, "-c", "import pandas, astropy"], ROOT) for _ in range(repeat)
    )
    print(f"baseline: python -c 'pass' {bare:.3f} s; python -c 'import pandas, astropy' "
          f"{libs:.3f} s wall (median of {repeat})")  # fmt: skip


def bench_m101(repeat: int) -> None:
    runs, reruns, steps, cpu_run, cpu_steps, cpu_rerun = [], [], [], [], [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="xrbid-bench-") as tmp:
            tmp = Path(tmp)
            config = m101_config(tmp)
            runs.append(wall([XRBID, "run", str(config), "-q"], tmp))
            reruns.append(wall([XRBID, "run", str(config), "-q"], tmp))
            shutil.rmtree(tmp / "out")
            cpu_run.append(cpu_of([XRBID, "run", str(config), "-q"], tmp))
            cpu_rerun.append(cpu_of([XRBID, "run", str(config), "-q"], tmp))
            ref = tmp / "steps"
            ref.mkdir()
            cmds = step_commands(ref)
            t0 = time.perf_counter()
            for cmd in cmds:
                subprocess.run(cmd, cwd=ref, check=True, capture_output=True)
            steps.append(time.perf_counter() - t0)
            for f in ref.iterdir():
                if f.suffix in (".ecsv", ".reg", ".json", ".png") and f.name != "calibrators.txt":
                    f.unlink()
            cpu_steps.append(sum(cpu_of(cmd, ref) for cmd in cmds))
    r, s, rr = statistics.median(runs), statistics.median(steps), statistics.median(reruns)
    cr, cs = statistics.median(cpu_run), statistics.median(cpu_steps)
    print(f"xrbid run examples/m101.toml, fresh folder: {r:.3f} s wall (median of {repeat}; "
          f"target < 1.0 s), {cr:.3f} s CPU")  # fmt: skip
    print(f"same work as {len(step_commands(Path(tempfile.gettempdir())))} per-step commands: "
          f"{s:.3f} s wall, {cs:.3f} s CPU  ->  xrbid run is {s / r:.2f}x faster (wall), "
          f"{cs / cr:.2f}x (CPU); target >= 5x")  # fmt: skip
    print(f"re-run with nothing changed: {rr:.3f} s wall (median of {repeat}; target < 0.7 s), "
          f"{statistics.median(cpu_rerun):.3f} s CPU")  # fmt: skip
    print(f"load average after these: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


def make_galaxies(folder: Path, n: int) -> list[Path]:
    import numpy as np

    import xrbid

    table = xrbid.read_table(DATA / "csc-m101" / "cscresults_M101.vot")
    opt = xrbid.read_regions(OPTICAL / "M101_daoclean_f555w_acs_fk5.reg")[["ra", "dec"]]
    ref = xrbid.read_regions(OPTICAL / "M101_astrocorrect.reg")[["ra", "dec"]]
    ids = re.findall(r'"(2CXO J[^"]+)"', (ROOT / "examples" / "m101.toml").read_text())
    configs = []
    for i in range(n):
        shift = 7.0 * (i + 1)  # deg of RA: the same sky geometry elsewhere on the sky
        g = folder / f"g{i:02d}"
        g.mkdir()
        for name, df in [("xray.parquet", table), ("optical.ecsv", opt), ("ref.ecsv", ref)]:
            moved = df.copy()
            moved["ra"] = np.mod(moved["ra"].to_numpy(float) + shift, 360.0)
            xrbid.write_table(moved, g / name)
        quoted = ", ".join(f'"{x}"' for x in ids)
        path = g / "galaxy.toml"
        path.write_text(
            f'[galaxy]\nname = "G{i:02d}"\n[xray]\ntable = "xray.parquet"\n'
            f'[calibrators]\nids = [{quoted}]\n[optical]\nsources = "optical.ecsv"\n'
            f'[alignment]\nreference = "ref.ecsv"\n[outputs]\nfolder = "out"\n'
            'figures = ["alignment"]\n'
        )
        configs.append(path)
    return configs


def outputs_of(config: Path) -> dict[str, str]:
    out = {}
    state = config.parent / "out" / ".xrbid"
    for manifest in sorted(state.glob("*.json")):
        data = json.loads(manifest.read_text())
        if data["step"] != "report":  # the report carries the time it was written
            out.update({f"{data['step']}/{k}": v for k, v in data["outputs"].items()})
    return out


RUN_MANY = (
    "import sys\n"
    "from xrbid.pipeline import run_many\n"
    "workers, use_dask, configs = int(sys.argv[1]), sys.argv[2] == 'dask', sys.argv[3:]\n"
    "results = run_many(configs, workers=workers, use_dask=use_dask)\n"
    "bad = [r.error for r in results if not r.ok]\n"
    "sys.exit(str(bad) if bad else 0)\n"
)


def bench_many(n: int, repeat: int) -> None:
    """Serial, 1 dask worker, 2 dask workers: each a fresh process, as `xrbid run` is."""
    with tempfile.TemporaryDirectory(prefix="xrbid-bench-many-") as tmp:
        configs = make_galaxies(Path(tmp), n)
        names = [str(c) for c in configs]

        def timed(workers: int, how: str) -> float:
            for c in configs:
                shutil.rmtree(c.parent / "out", ignore_errors=True)
            cmd = [sys.executable, "-c", RUN_MANY, str(workers), how, *names]
            return wall(cmd, Path(tmp))

        times: dict[str, list[float]] = {"serial": [], "1": [], "2": []}
        same = True
        for k in range(repeat):
            load = os.getloadavg()[0]
            times["serial"].append(timed(1, "serial"))
            reference = [outputs_of(c) for c in configs]
            for workers in (1, 2):
                times[str(workers)].append(timed(workers, "dask"))
                same = same and [outputs_of(c) for c in configs] == reference
            t_s, t_1, t_2 = (times[key][-1] for key in ("serial", "1", "2"))
            print(f"{n} galaxies, run {k + 1}: one after the other in one process {t_s:.2f} s; "
                  f"dask 1 worker {t_1:.2f} s ({t_1 - t_s:+.2f} s), 2 workers {t_2:.2f} s: "
                  f"{t_1 / t_2:.2f}x; load average {load:.2f} before, "
                  f"{os.getloadavg()[0]:.2f} after")  # fmt: skip
        med = {key: statistics.median(v) for key, v in times.items()}
        ratios = sorted(a / b for a, b in zip(times["1"], times["2"]))
        print(f"{n} galaxies (each run a fresh process, pool start and imports included; "
              f"median of {repeat}): serial {med['serial']:.2f} s, dask 1 worker {med['1']:.2f} "
              f"s, 2 workers {med['2']:.2f} s; speed-up 2 workers vs 1: "
              f"{statistics.median(ratios):.2f}x (range {ratios[0]:.2f}-{ratios[-1]:.2f}; "
              f"target >= 1.7x); outputs on dask identical to serial: {same}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--galaxies", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", choices=["m101", "many"], help="run one part only")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    baseline(args.repeat)
    if args.only != "many":
        bench_m101(args.repeat)
    if args.only != "m101":
        bench_many(args.galaxies, args.repeat)


if __name__ == "__main__":
    main()
