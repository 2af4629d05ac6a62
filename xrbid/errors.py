"""Exception types that users see.

Every error caused by the user's input (a missing column, a malformed region file, DS9 not
running, ...) is an :class:`XrbidError` subclass whose message says what is wrong *and* what to
do about it, in one line. The command line turns these into a one-line message and a non-zero
exit code, without a traceback; anything else is a bug and keeps its traceback.

Every warning the library emits is an :class:`XrbidWarning` (an astropy
``AstropyUserWarning``, so astropy's and the user's warning filters apply to it); the command
line shows each as one ``Warning: ...`` line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "ArchiveError",
    "CalibrationError",
    "ColumnError",
    "DS9Error",
    "InputError",
    "OutputError",
    "OutputExistsError",
    "RegionSyntaxError",
    "XrbidError",
    "XrbidWarning",
]


class XrbidError(Exception):
    """Base class of all errors caused by user input or the user's environment."""


class InputError(XrbidError):
    """An input file or value cannot be used (unreadable, empty, wrong format, bad value)."""


class ColumnError(InputError):
    """A required table column is missing or ambiguous."""


class OutputExistsError(XrbidError):
    """An output file exists and ``overwrite`` was not given."""


class OutputError(XrbidError):
    """An output cannot be written: not a regular file, disk full, read-only folder, ..."""


class RegionSyntaxError(InputError):
    """A DS9 region file cannot be parsed; the message names the file and line."""


class DS9Error(XrbidError):
    """DS9 cannot be reached, or it rejected a command."""


class ArchiveError(XrbidError):
    """A remote archive (CSC TAP, Gaia) failed or returned something unusable."""


class CalibrationError(XrbidError):
    """A calibration fit cannot be done with the data given."""


if TYPE_CHECKING:
    from astropy.utils.exceptions import AstropyUserWarning

    class XrbidWarning(AstropyUserWarning):
        """Base class of every warning xrbid emits: something the user should know."""


def _warning_class() -> type:
    from astropy.utils.exceptions import AstropyUserWarning

    class XrbidWarning(AstropyUserWarning):
        """Base class of every warning xrbid emits: something the user should know, not an error."""

    XrbidWarning.__module__ = __name__
    XrbidWarning.__qualname__ = "XrbidWarning"
    return XrbidWarning


def __getattr__(name: str) -> Any:
    # XrbidWarning is made on first use: its base class is astropy's, and a command that
    # emits no warning (``xrbid run`` with nothing to recompute) need not import astropy.
    if name == "XrbidWarning":
        cls = globals()["XrbidWarning"] = _warning_class()
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
