"""What a fresh ``xrbid run`` of a galaxy without images imports, and what it need not."""

from __future__ import annotations

import json
import subprocess
import sys

from .conftest import m101_toml

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

_PROBE = """
import json, sys
from xrbid.cli.main import cli
try:
    cli(sys.argv[1:], prog_name="xrbid")
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "loaded": [m for m in %r if m in sys.modules]}))
"""


def test_a_fresh_m101_run_imports_none_of_what_it_need_not(tmp_path):
    config = tmp_path / "m101.toml"
    config.write_text(m101_toml(), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-c", _PROBE % (NOT_NEEDED,), "run", str(config), "-q"],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"code": 0, "loaded": []}
    # it did the work: the tables are there, with the candidates
    candidates = (tmp_path / "out" / "candidates.ecsv").read_text()
    assert candidates.count('\n"2CXO J') > 100
