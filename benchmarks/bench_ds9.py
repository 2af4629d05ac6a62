"""Round-trip latency of DS9 commands and the time to draw 10,000 regions, over XPA and SAMP.

Starts its own Xvfb (when no DISPLAY is set, or with --xvfb), a pyvo SAMP hub with a private
lock file, and one DS9; stops them at the end. Run from the repository root:

    .venv/bin/python benchmarks/bench_ds9.py [--repeat 30] [--regions 10000]

The regions are synthetic (seeded positions over the shipped Abell 478 HST image).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from astropy.io import fits
from astropy.wcs import WCS

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xrbid.ds9 import DS9, find_ds9  # noqa: E402
from xrbid.regions import format_regions  # noqa: E402

IMAGE = ROOT / "testdata" / "hst-wfpc2-abell478" / "a478hst-cutout.fits"


def free_display() -> int:
    for n in range(90, 200):
        if not (Path(f"/tmp/.X{n}-lock").exists() or Path(f"/tmp/.X11-unix/X{n}").exists()):
            return n
    raise RuntimeError("no free X display")


def wait_for(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


def timed(call, repeat: int) -> tuple[float, float]:
    """Median and 95th percentile of ``repeat`` calls, in milliseconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.95 * len(times)))]


def bench(session: DS9, table: pd.DataFrame, repeat: int) -> None:
    session.delete_frames()
    session.open_image(IMAGE)
    ra, dec = float(table["ra"].iloc[0]), float(table["dec"].iloc[0])
    small = table.iloc[:10]
    commands = {
        "get frame": lambda: session.current_frame(),
        "pan_to": lambda: session.pan_to(ra, dec),
        "pan_position": lambda: session.pan_position(),
        "zoom(2)": lambda: session.zoom(2),
        "crosshair": lambda: session.crosshair(ra, dec),
        "crosshair_position": lambda: session.crosshair_position(),
        "load_regions (10)": lambda: session.load_regions(small, radius=1.0),
        "regions() (10 drawn)": lambda: (
            session.delete_regions(),
            session.load_regions(small, radius=1.0),
            session.regions(),
        ),
    }
    print(f"  {'command':<24} {'median ms':>10} {'p95 ms':>9}")
    for name, call in commands.items():
        med, p95 = timed(call, repeat)
        print(f"  {name:<24} {med:>10.2f} {p95:>9.2f}")
    session.delete_regions()
    session.edit_mode()
    text = format_regions(table, radius=0.5, label_column="source_id")
    t0 = time.perf_counter()
    session.load_regions(text)
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    back = session.regions()
    t_read = time.perf_counter() - t0
    assert len(back) == len(table), (len(back), len(table))
    print(
        f"  load {len(table):,} regions: {t_load:.2f} s; read them back (regions()): {t_read:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--regions", type=int, default=10_000)
    parser.add_argument("--xvfb", action="store_true", help="start Xvfb even if DISPLAY is set")
    args = parser.parse_args()
    for tool in ("ds9", "Xvfb", "xpaset"):
        if shutil.which(tool) is None:
            print(f"skipped: {tool} not found (apt install saods9 xpa-tools xvfb)")
            return

    from pyvo.samp import SAMPHubServer

    work = Path(tempfile.mkdtemp(prefix="xrbid-bench-ds9-"))
    started: list[subprocess.Popen] = []
    hub = None
    try:
        if args.xvfb or not os.environ.get("DISPLAY"):
            n = free_display()
            started.append(
                subprocess.Popen(
                    ["Xvfb", f":{n}", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            wait_for(lambda: Path(f"/tmp/.X11-unix/X{n}").exists(), 15, "Xvfb")
            os.environ["DISPLAY"] = f":{n}"
        os.environ["SAMP_HUB"] = f"std-lockurl:{(work / 'hub.lock').as_uri()}"
        hub = SAMPHubServer(web_profile=False)
        hub.start()
        title = f"xrbid-bench-{os.getpid()}"
        started.append(
            subprocess.Popen(
                ["ds9", "-title", title], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        )
        wait_for(lambda: any(t.name == title for t in find_ds9("samp", 5)), 60, "DS9")

        wcs = WCS(fits.getheader(IMAGE, "SCI"))
        rng = np.random.default_rng(1)
        x, y = rng.uniform(0, 599, args.regions), rng.uniform(0, 599, args.regions)
        ra, dec = wcs.pixel_to_world_values(x, y)
        table = pd.DataFrame(
            {"source_id": [f"S{i:05d}" for i in range(args.regions)], "ra": ra, "dec": dec}
        )
        version = subprocess.run(["xpaget", title, "version"], capture_output=True, text=True)
        print(f"DS9 {version.stdout.strip()}, {args.repeat} repeats per command")
        for transport in ("xpa", "samp"):
            print(f"== {transport}")
            with DS9(title, transport=transport, timeout=120) as session:
                bench(session, table, args.repeat)
    finally:
        for process in reversed(started):
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        if hub is not None:
            hub.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
