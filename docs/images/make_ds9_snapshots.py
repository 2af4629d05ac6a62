"""Make the DS9 snapshots of docs/ds9.md with a real DS9 (under its own Xvfb).

    .venv/bin/python docs/images/make_ds9_snapshots.py

There is no HST image of M101 in the test data, so the M101 regions are drawn over a *blank*
frame: a FITS image of zeros whose only content is a TAN WCS centred on the M101 CSC field
(1 arcsec per pixel), made here with astropy. DS9's coordinate grid is switched on so that the
sky coordinates can be read. The last picture is the real HST WFPC2 image of Abell 478.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.ds9_session import click_frame_centre  # noqa: E402
from xrbid.ds9 import DS9, draw_calibrators, find_ds9, step_through  # noqa: E402
from xrbid.tables import read_table, unique_sources  # noqa: E402

OUT = Path(__file__).resolve().parent
A478 = ROOT / "testdata" / "hst-wfpc2-abell478" / "a478hst-cutout.fits"
M101 = ROOT / "testdata" / "csc-m101" / "cscresults_M101.vot"


def wait_for(check, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError("timed out")


def blank_frame(path: Path, ra0: float, dec0: float, size: int = 1800) -> None:
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [ra0, dec0]
    wcs.wcs.crpix = [(size + 1) / 2, (size + 1) / 2]
    wcs.wcs.cdelt = [-1 / 3600, 1 / 3600]
    header = wcs.to_header()
    header["OBJECT"] = "BLANK FRAME (no data): WCS centred on the M101 CSC field"
    fits.PrimaryHDU(np.zeros((size, size), np.float32), header).writeto(path)


def main() -> None:
    from pyvo.samp import SAMPHubServer  # noqa: F401  (DS9 runs with XPA here)

    work = Path(tempfile.mkdtemp(prefix="xrbid-docs-"))
    n = next(
        i
        for i in range(90, 200)
        if not Path(f"/tmp/.X11-unix/X{i}").exists() and not Path(f"/tmp/.X{i}-lock").exists()
    )
    xvfb = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"])
    wait_for(lambda: Path(f"/tmp/.X11-unix/X{n}").exists(), 15)
    os.environ["DISPLAY"] = f":{n}"
    title = f"xrbid-docs-{os.getpid()}"
    ds9 = subprocess.Popen(["ds9", "-title", title, "-samp", "no"])
    try:
        wait_for(lambda: any(t.name == title for t in find_ds9("xpa", 5)), 60)
        session = DS9(title, transport="xpa", timeout=60)
        session.delete_frames()
        session.view_size(700, 700)

        table = unique_sources(read_table(M101))
        ra0 = (table["ra"].min() + table["ra"].max()) / 2
        dec0 = (table["dec"].min() + table["dec"].max()) / 2
        blank = work / "m101_blank_frame.fits"
        blank_frame(blank, ra0, dec0)

        # 1. all 555 CSC sources of M101, 10" circles labelled with the CSC name
        session.open_image(blank)
        session.set("grid yes")
        session.set("colorbar no")
        session.load_regions(table, radius=10.0, color="hotpink", width=2)
        session.zoom("fit")
        session.snapshot(OUT / "ds9_m101_csc_regions.png", overwrite=True)

        # 2. calibrator selection: candidates drawn, DS9 stepped to the first one
        session.delete_frames()
        session.open_image(blank)
        session.set("grid yes")
        candidates = table.sort_values("counts", ascending=False).head(6)
        candidates = candidates.reset_index(drop=True)
        draw_calibrators(session, candidates, radius=8.0)
        steps = step_through(session, candidates, zoom=2)
        next(steps)
        session.snapshot(OUT / "ds9_m101_calibrator_step.png", overwrite=True)
        steps.close()

        # 3. two of them kept: selected and recoloured red (Region > Color > red)
        for i in (0, 3):
            session.pan_to(candidates["ra"][i], candidates["dec"][i])
            click_frame_centre(session)
            print("selected:", session.selected_regions()["label"].tolist())
            session.set("regions color red")
        session.set("regions select none")
        session.pan_to(candidates["ra"][:6].mean(), candidates["dec"][:6].mean())
        session.zoom(0.5)
        session.snapshot(OUT / "ds9_m101_calibrators_marked.png", overwrite=True)

        # 4. the real HST WFPC2 F814W image of Abell 478, as `xrbid ds9 show` leaves it
        session.delete_frames()
        session.set("grid no")
        session.set("colorbar yes")
        session.open_image(A478)
        session.scale("log", 99.5)
        session.zoom("fit")
        session.snapshot(OUT / "ds9_a478_show.png", overwrite=True)
        session.close(quit=True)
    finally:
        for process in (ds9, xvfb):
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
