"""The error and warning types users see: one list of them, every one exported from ``xrbid``;
every warning the library emits is an XrbidWarning (an astropy AstropyUserWarning)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from astropy.utils.exceptions import AstropyUserWarning

import xrbid
from xrbid import errors
from xrbid.errors import XrbidWarning
from xrbid.photometry import NoInfiniteApertureWarning, OutsideImageWarning, PixelOnlyWarning
from xrbid.photometry.zeropoints import UnknownVegaFilterWarning

PACKAGE = Path(xrbid.__file__).parent


def test_errors_all_lists_every_error_and_warning_type_once():
    defined = {
        name
        for name, obj in vars(errors).items()
        if inspect.isclass(obj)
        and obj.__module__ == errors.__name__
        and issubclass(obj, errors.XrbidError | errors.XrbidWarning)
    }
    assert len(errors.__all__) == len(set(errors.__all__))
    assert set(errors.__all__) == defined
    assert {"XrbidError", "InputError", "OutputError", "XrbidWarning"} <= defined


def test_every_error_and_warning_type_is_exported_from_xrbid():
    for name in errors.__all__:
        assert name in xrbid.__all__, name
        assert getattr(xrbid, name) is getattr(errors, name), name
    assert xrbid.__all__.count("InputError") == 1


def test_xrbid_warning_is_an_astropy_user_warning():
    assert issubclass(XrbidWarning, AstropyUserWarning)
    assert issubclass(XrbidWarning, UserWarning)


def test_the_specific_warnings_are_xrbid_warnings():
    for cls in (
        PixelOnlyWarning,
        NoInfiniteApertureWarning,
        OutsideImageWarning,
        UnknownVegaFilterWarning,
    ):
        assert issubclass(cls, XrbidWarning), cls


def _warn_categories(path: Path) -> list[str]:
    """The category expression of every ``warnings.warn(message, category, ...)`` call."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "warn"
        ):
            category = node.args[1] if len(node.args) > 1 else None
            for kw in node.keywords:
                if kw.arg == "category":
                    category = kw.value
            found.append(ast.unparse(category) if category is not None else "UserWarning")
    return found


def test_every_library_warning_names_an_xrbid_warning_class():
    allowed = {
        "XrbidWarning",
        "errors.XrbidWarning",  # looked up when warning: the class imports astropy
        "PixelOnlyWarning",
        "NoInfiniteApertureWarning",
        "OutsideImageWarning",
        "UnknownVegaFilterWarning",
    }
    calls = {
        str(path.relative_to(PACKAGE)): _warn_categories(path) for path in PACKAGE.rglob("*.py")
    }
    assert sum(len(c) for c in calls.values()) >= 10  # the scan finds the library's warnings
    bad = {name: c for name, c in calls.items() if set(c) - allowed}
    assert bad == {}
