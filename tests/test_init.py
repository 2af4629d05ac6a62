"""The package's public surface and the direction of its imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import xrbid

PACKAGE = Path(xrbid.__file__).parent

FOUNDATIONS = {
    *("schema", "tables", "sky", "regions", "region_parser", "errors", "_io", "_version"),
    *("_region_fast", "_region_shapes", "_region_table", "_region_units"),
}
STEPS = {"align", "uncertainty", "selection", "photometry", "calibration", "archives", "ds9"}


def _imported_xrbid_modules(path: Path) -> set[str]:
    """First component after ``xrbid.`` of every xrbid module ``path`` imports."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    package_parts = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                base = list(package_parts[: len(package_parts) - node.level + 1])
                names = [".".join([*base, node.module or ""]).rstrip(".")]
                if not node.module:
                    names = [".".join([*base, a.name]) for a in node.names]
            else:
                names = [node.module or ""]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "xrbid" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_every_public_name_resolves():
    for name in xrbid.__all__:
        assert getattr(xrbid, name) is not None, name


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        xrbid.nope  # noqa: B018


def test_import_is_light():
    """`import xrbid` needs neither click, nor pyds9, nor photutils, nor the network stack."""
    code = (
        "import sys, xrbid; "
        "print(','.join(m for m in ('click', 'pyds9', 'photutils', 'pyvo', 'astroquery') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_library_never_imports_the_command_line(path):
    assert "cli" not in _imported_xrbid_modules(path)
    assert "import click" not in path.read_text()


@pytest.mark.parametrize("name", sorted(FOUNDATIONS - {"_version"}))
def test_foundations_do_not_import_the_steps(name):
    module = PACKAGE / f"{name}.py"
    paths = [module] if module.exists() else sorted((PACKAGE / name).glob("*.py"))
    assert paths, name
    for path in paths:
        assert not (_imported_xrbid_modules(path) & STEPS), path


@pytest.mark.parametrize("path", sorted((PACKAGE / "ds9").glob("*.py")), ids=lambda p: p.name)
def test_ds9_depends_only_on_regions_and_tables(path):
    # and photometry.image_coords (sky to pixel of tables), as the design allows photometry.images
    allowed = {"regions", "tables", "errors", "_io", "ds9", "photometry"}
    assert _imported_xrbid_modules(path) <= allowed


def test_dir_lists_the_names_imported_on_first_use():
    code = (
        "import sys, xrbid, xrbid.figures; "
        "names = dir(xrbid) + dir(xrbid.figures); "
        "print(all(n in names for n in ('read_table', 'DS9', 'finder_chart', 'plot_cmd')), "
        "'xrbid.figures.finder' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]
