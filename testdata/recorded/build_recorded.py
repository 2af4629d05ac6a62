"""Rebuild the recorded CSC TAP answers in this folder from the real M101 CSCview export.

Run from the repository root:  python testdata/recorded/build_recorded.py
Every value is copied from testdata/csc-m101/cscresults_M101.vot; nothing is computed except
the cone centre (see SOURCES.txt), which only selects the rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io.votable import from_table
from astropy.io.votable.tree import Info
from astropy.table import Table
from scipy.optimize import least_squares

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent / "csc-m101" / "cscresults_M101.vot"
RADIUS_ARCSEC = 180.0

# Columns of the TAP answer, in the order xrbid.archives.csc_adql asks for them; the export
# lacks obsid, obi, region_id, theta (per observation) and gti_mjd_obs, so they are left out,
# and the export's theta_mean stands where the query has theta.
OBSERVATION = [
    "name", "ra", "dec", "err_ellipse_r0", "err_ellipse_r1", "err_ellipse_ang", "significance",
    "likelihood_class", "livetime", "theta_mean", "flux_aper_b", "flux_aper_lolim_b",
    "flux_aper_hilim_b", "hard_hs", "hard_hm", "hard_ms", "src_cnts_aper_b",
    "src_cnts_aper_lolim_b", "src_cnts_aper_hilim_b", "separation",
]  # fmt: skip
MASTER = [
    "name", "ra", "dec", "err_ellipse_r0", "err_ellipse_r1", "err_ellipse_ang", "significance",
    "likelihood_class", "separation",
]  # fmt: skip


def cone_centre(t: Table) -> tuple[float, float]:
    """The centre the export's ``separation`` column was measured from (least squares)."""
    _, first = np.unique(t["name"], return_index=True)
    ra = np.radians(np.asarray(t["ra"], float)[first])
    dec = np.radians(np.asarray(t["dec"], float)[first])
    sep = np.radians(np.asarray(t["separation"], float)[first] / 3600.0)

    def resid(p: np.ndarray) -> np.ndarray:
        r0, d0 = np.radians(p)
        c = np.sin(dec) * np.sin(d0) + np.cos(dec) * np.cos(d0) * np.cos(ra - r0)
        return (np.arccos(np.clip(c, -1, 1)) - sep) * 206264.806

    near = first[np.argmin(t["separation"][first])]
    fit = least_squares(resid, [float(t["ra"][near]), float(t["dec"][near])], xtol=1e-15)
    return float(fit.x[0]), float(fit.x[1])


def write_answer(t: Table, columns: list[str], path: Path) -> None:
    out = Table([t[c] for c in columns], names=columns)
    for c in columns:  # the export's display rounding (precision=, width=) would cut digits
        out[c].description = None
        out[c].meta = {k: v for k, v in out[c].meta.items() if k == "ucd"}
        out[c].format = None
    vot = from_table(out)
    resource = vot.resources[0]
    resource.type = "results"
    resource.infos.append(Info(name="QUERY_STATUS", value="OK"))
    vot.to_xml(str(path))


def main() -> None:
    t = Table.read(SOURCE, format="votable", use_names_over_ids=True)
    ra0, dec0 = cone_centre(t)
    print(f"cone centre from the export's separations: {ra0:.7f} {dec0:.7f}")
    inside = np.asarray(t["separation"], float) <= RADIUS_ARCSEC
    cone = t[inside]
    write_answer(cone, OBSERVATION, HERE / "csc21-m101-observation-3arcmin.vot")
    _, first = np.unique(cone["name"], return_index=True)
    master = cone[np.sort(first)]
    write_answer(master, MASTER, HERE / "csc21-m101-master-3arcmin.vot")
    print(f"{len(cone)} detections, {len(master)} sources within {RADIUS_ARCSEC:g} arcsec")


if __name__ == "__main__":
    main()
