"""Galaxy configurations on the shipped M101 data, written into a test's folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TESTDATA

M101_CALIBRATORS = [
    "2CXO J140251.0+542420",
    "2CXO J140248.0+542403",
    "2CXO J140356.0+542057",
    "2CXO J140355.8+542058",
    "2CXO J140357.6+541856",
    "2CXO J140339.3+541827",
    "2CXO J140346.1+541615",
    "2CXO J140253.3+541855",
    "2CXO J140252.1+541946",
]
OPTICAL = TESTDATA / "m101-optical-xrbid"


def m101_toml(
    *,
    table: Path | str = TESTDATA / "csc-m101" / "cscresults_M101.vot",
    ids: list[str] | None = None,
    folder: str = "out",
    extra: str = "",
    alignment: str = "",
) -> str:
    """The text of an M101 configuration (absolute input paths)."""
    ids = M101_CALIBRATORS if ids is None else ids
    quoted = ", ".join(f'"{i}"' for i in ids)
    return f"""
[galaxy]
name = "M101"
ra = 210.80243
dec = 54.34875

[xray]
table = "{table}"

[calibrators]
ids = [{quoted}]

[optical]
sources = "{OPTICAL / "M101_daoclean_f555w_acs_fk5.reg"}"

[alignment]
reference = "{OPTICAL / "M101_astrocorrect.reg"}"
{alignment}

[outputs]
folder = "{folder}"
{extra}
"""


@pytest.fixture
def write_config(tmp_path):
    """Write a configuration text to ``tmp_path/NAME.toml``; return its path."""

    def write(text: str, name: str = "m101.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


# the command line in a fresh interpreter; then which of the given modules it imported
_PROBE = """
import json, sys
from xrbid.cli.main import cli
try:
    cli(sys.argv[1:], prog_name="xrbid")
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "loaded": [m for m in %r if m in sys.modules]}))
"""


def cli_imports(modules: list[str], *args: str) -> dict:
    """Run ``xrbid ARGS`` in a fresh interpreter: its exit code, which of ``modules`` it loaded."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE % (modules,), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])
