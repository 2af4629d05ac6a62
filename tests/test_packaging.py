"""Every part of the library reaches an installed (non-editable) xrbid."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_subpackage_is_listed():
    listed = set(_setuptools()["packages"])
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "xrbid").rglob("__init__.py")
    }
    assert on_disk <= listed, f"add to [tool.setuptools] packages: {sorted(on_disk - listed)}"
    assert "xrbid.cli" in listed


def test_shipped_tables_are_package_data():
    patterns = _setuptools()["package-data"]["xrbid.data"]
    shipped = {p.name for p in (ROOT / "xrbid" / "data").iterdir() if p.is_file()}
    assert shipped
    assert all(any(Path(name).match(pat) for pat in patterns) for name in shipped)
