"""Every command imports only what it uses.

Each command runs in a fresh Python process on real data; the modules it imported are read from
``sys.modules`` when it ends. The heavy stacks (astropy.coordinates, scipy.spatial, matplotlib,
photutils) may be imported only by the commands that need them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("astropy.coordinates", "scipy.spatial", "matplotlib", "photutils")

RUN_AND_LIST_MODULES = """
import json, sys
from xrbid.cli.main import cli
try:
    cli.main(sys.argv[1:], prog_name="xrbid", standalone_mode=False)
except SystemExit as exc:
    if exc.code:
        raise
print(json.dumps(sorted(sys.modules)))
"""

TESTDATA = Path(__file__).resolve().parents[2] / "testdata"
M101 = TESTDATA / "csc-m101" / "cscresults_M101.vot"
A478 = TESTDATA / "hst-wfpc2-abell478" / "a478hst-cutout.fits"
CALIBRATORS = ["2CXO J140251.0+542420", "2CXO J140248.0+542403", "2CXO J140356.0+542057"]


def imported_by(*args: object, cwd: Path) -> set[str]:
    """The modules a command imported (it must succeed)."""
    done = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST_MODULES, *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def heavy(modules: set[str]) -> set[str]:
    return {h for h in HEAVY if h in modules}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """M101 as CSV and VOTable, with radii: the inputs of the table commands."""
    path = tmp_path_factory.mktemp("imports")
    for args in (
        ("csc", "load", M101, "-o", "m101.csv"),
        ("pu", "m101.csv", "--std", "0.3,0.3", "-o", "pu.csv"),
        ("csc", "unique", "m101.csv", "-o", "unique.csv"),
    ):
        imported_by(*args, cwd=path)
    return path


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("csc", "--help"),
        ("csc", "load", M101, "-o", "load.vot"),
        ("csc", "load", M101, "-o", "load.csv"),
        ("csc", "unique", "m101.csv", "-o", "unique2.csv"),
        ("csc", "select", "m101.csv", "--id", CALIBRATORS[0], "-o", "select.csv"),
        ("pu", M101, "--std", "0.3,0.3", "-o", "pu.vot"),
        ("best", "pu.csv", "-o", "best.csv", "--regions-2sigma", "b2.reg"),
        ("best", "pu.csv", "-o", "best.vot", "--regions-1sigma", "b1.reg"),
        ("regions", "write", "unique.csv", "-o", "unique.reg", "--radius", "2arcsec"),
    ],
    ids=lambda a: " ".join(str(x) for x in a if not str(x).startswith("/"))[:40],
)
def test_table_commands_import_no_heavy_stack(folder, args):
    assert heavy(imported_by(*args, cwd=folder)) == set()


def test_align_needs_matching_but_no_plotting_or_photometry(folder):
    lines = ["fk5", 'circle(210.71270,54.40560,0.3")', 'circle(210.70000,54.40110,0.3")']
    (folder / "optical.reg").write_text("\n".join(lines) + "\n")
    args = ["align", "median", "--xray", "unique.csv", "--optical", "optical.reg"]
    for i in CALIBRATORS:
        args += ["--id", i]
    modules = imported_by(*args, "--max-sep", "5arcsec", "-o", "align.json", cwd=folder)
    # three calibrators against two sources: matched with numpy, without scipy's KD-tree
    assert heavy(modules) - {"astropy.coordinates"} == set()
    solution = json.loads((folder / "align.json").read_text())
    assert solution["n_matched"] == 2


def test_counterparts_need_no_plotting_or_photometry(folder):
    (folder / "optical.csv").write_text("ra,dec,mag\n210.8022,54.3487,22.0\n")
    modules = imported_by("counterparts", "pu.csv", "optical.csv", "-o", "cands.csv", cwd=folder)
    assert heavy(modules) - {"scipy.spatial", "astropy.coordinates"} == set()


def test_photometry_help_imports_no_photometry(folder):
    # (`phot detect` itself imports matplotlib: photutils' find_peaks records its version)
    assert heavy(imported_by("phot", "detect", "--help", cwd=folder)) == set()


@pytest.mark.parametrize(
    "args",
    [("--help",), ("ds9", "--help"), ("ds9", "show", "--help"), ("ds9", "stamps", "--help")],
    ids=lambda a: " ".join(a),
)
def test_help_imports_no_table_or_ds9_stack(args, tmp_path):
    """Help is read often and must be quick: no pandas, no DS9 transports, no heavy stacks."""
    modules = imported_by(*args, cwd=tmp_path)
    assert not heavy(modules)
    assert "pandas" not in modules and "xrbid.ds9.session" not in modules
