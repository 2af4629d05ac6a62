"""Make the DS9 snapshots of docs/ds9.md with a real DS9 (under its own Xvfb).

    .venv/bin/python docs/images/make_ds9_snapshots.py

There is no HST image of M101 in the test data, so the M101 regions are drawn over a *blank*
frame: a FITS image of zeros whose only content is a TAN WCS centred on the M101 CSC field
(1 arcsec per pixel), made here with astropy. DS9's coordinate grid is switched on so that the
sky coordinates can be read. The last two pictures are of the real HST WFPC2 image of
Abell 478: as `xrbid ds9 show` shows it, and a postage stamp.
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
import pandas as pd
from astropy.io import fits
from astropy.wcs import WCS

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from xrbid.ds9 import (  # noqa: E402
    DS9,
    draw_calibrators,
    find_ds9,
    postage_stamps,
    step_through,
)
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

        # 3. two of them kept, as the user leaves them after Region > Color > red (drawn here
        # in their colours: generated clicks on a freshly panned view are not reliable)
        session.delete_regions()
        kept = candidates.index.isin([0, 3])
        draw_calibrators(session, candidates.loc[~kept], radius=8.0)
        draw_calibrators(session, candidates.loc[kept], radius=8.0, color="red")
        session.set("regions select none")
        session.pan_to(candidates["ra"][:6].mean(), candidates["dec"][:6].mean())
        session.zoom(0.5)
        session.snapshot(OUT / "ds9_m101_calibrators_marked.png", overwrite=True)

        # 4. the real HST WFPC2 F814W image of Abell 478, as `xrbid ds9 show` leaves it
        session.delete_frames()
        session.set("grid no")
        session.set("colorbar yes")
        session.open_image(A478)
        session.stretch()  # the default of `xrbid ds9 show`: log over the 99.5 % clip
        session.zoom("fit")
        session.snapshot(OUT / "ds9_a478_show.png", overwrite=True)

        # 5. a postage stamp on the same image: two made-up X-ray sources 2.5" apart (an
        # illustration: Abell 478 has no CSC table in the test data), two numbered candidates
        session.delete_frames()
        wcs = WCS(fits.getheader(A478, "SCI")).celestial
        ra, dec = wcs.pixel_to_world_values([318.0, 343.0], [402.0, 402.0])
        sources = pd.DataFrame(
            {
                "source_id": ["X-1", "X-2"],
                "ra": ra,
                "dec": dec,
                "pu_1sigma": [0.6, 0.5],
                "pu_2sigma": [1.2, 1.0],
            }
        )
        c_ra, c_dec = wcs.pixel_to_world_values([322.0, 311.0], [409.0, 396.0])
        cands = pd.DataFrame(
            {"source_id": ["X-1", "X-1"], "rank": [1, 2], "ra": c_ra, "dec": c_dec}
        )
        made = postage_stamps(
            session, sources, A478,
            work / "stamps", size=8.0, pixels=300, candidates=cands,
        )  # fmt: skip
        shutil.copyfile(made[0], OUT / "ds9_a478_stamp.png")
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
