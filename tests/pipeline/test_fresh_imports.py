"""What a fresh ``xrbid run`` of a galaxy without images imports, and what it need not."""

from __future__ import annotations

from tests.conftest import TESTDATA
from xrbid import read_table, write_table
from xrbid.pipeline import run_galaxy

from .conftest import cli_imports, m101_toml

# Each of these costs a run more to import than the work it would do there: the M101 units
# are read and written as declared spellings, the matching of a galaxy's tables is done with
# numpy, the configuration's angles are parsed without astropy, and XrbidWarning (whose base
# class is astropy's) is made only when a warning is emitted (this run emits none).
NOT_NEEDED = [
    "astropy",
    "astropy.units",
    "astropy.table",
    "astropy.coordinates",
    "astropy.io",
    "scipy.spatial",
]


def test_a_fresh_m101_run_imports_none_of_what_it_need_not(tmp_path):
    config = tmp_path / "m101.toml"
    config.write_text(m101_toml(), encoding="utf-8")
    result = cli_imports(NOT_NEEDED, "run", str(config), "-q")
    assert result == {"code": 0, "loaded": []}
    # it did the work: the tables are there, with the candidates
    candidates = (tmp_path / "out" / "candidates.ecsv").read_text()
    assert candidates.count('\n"2CXO J') > 100


def test_the_same_table_as_csv_or_ecsv_gives_the_same_run(tmp_path, write_config):
    """CSV (read without astropy) and ECSV (read with astropy.table) copies of the CSC table
    give the tables of the VOTable run, byte for byte."""
    vot = TESTDATA / "csc-m101" / "cscresults_M101.vot"
    table = read_table(vot)
    outputs = {}
    for name in ("m101.vot", "m101.csv", "m101.ecsv"):
        path = vot if name.endswith(".vot") else tmp_path / name
        if path != vot:
            write_table(table, path)
        folder = name.replace(".", "_")
        run_galaxy(write_config(m101_toml(table=path, folder=folder), f"{folder}.toml"))
        outputs[name] = {
            t: (tmp_path / folder / t).read_bytes()
            for t in ("radii.ecsv", "best.ecsv", "candidates.ecsv", "alignment.json")
        }
    assert outputs["m101.csv"] == outputs["m101.vot"]
    assert outputs["m101.ecsv"] == outputs["m101.vot"]
