"""Drive a running SAOImage DS9: one session object over two transports, XPA and SAMP.

:class:`DS9` finds a running DS9 (or starts one) and speaks the workflow: open an image (or one
extension of it, ``IMAGE[ext]``), draw regions, read back what is drawn (including what the
user added, moved, deleted or selected), pan, zoom, put the crosshair on a position, tile and
blink frames, save a PNG of what DS9 shows. The same methods behave the same over both
transports:

* **XPA** through the XPA library that ships with `pyds9` (the XPA name server ``xpans``
  lists DS9 by its title; the `pyds9` module itself is never imported);
* **SAMP** through `pyvo.samp` (DS9 answers the ``ds9.set`` / ``ds9.get`` message types,
  which carry the same commands as XPA).

Safety rules:

* region *text* goes to DS9 as data (the XPA data buffer, or a file named in the SAMP
  message), never inside a command, so a label or an ID can never become a DS9 command; tables
  are turned into region text by :func:`xrbid.regions.format_regions`, which escapes labels;
* commands carry only numbers formatted here (checked finite), fixed keywords, and file paths
  sent as one double-quoted word (:func:`~xrbid.ds9._common.ds9_word`), or refused naming the
  character no quoting carries;
* every call has a time limit: a DS9 that is frozen or killed half-way through a command gives
  a `DS9Error` after ``timeout`` seconds, never a hang, naming what stopped (a DS9 or name
  server stopped with SIGSTOP is named by its pid; a SAMP hub that dies is named at once).

The calibrator workflow (draw candidates, step through them, read back the ones the user
marked) and postage stamps are built on the session: :func:`draw_calibrators`,
:func:`step_through`, :func:`picked_calibrators`, :func:`blink_before_after`,
:func:`postage_stamps` (in ``stamps.py``). Finding and starting DS9 is ``connect.py``.
"""

from importlib import import_module
from typing import Any

from ._checks import SCALES

# The session and its workflows load pandas, astropy and the transports: they are imported on
# first use, so that `xrbid --help` and the command-line options (which need only SCALES) stay
# quick.
_LAZY = {
    "CALIBRATOR_TAG": "._common",
    "DS9Target": "._common",
    "find_ds9": ".connect",
    "DS9": ".session",
    "Stamps": ".stamps",
    "postage_stamps": ".stamps",
    "blink_before_after": ".workflows",
    "draw_calibrators": ".workflows",
    "picked_calibrators": ".workflows",
    "step_through": ".workflows",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "CALIBRATOR_TAG",
    "DS9",
    "SCALES",
    "DS9Target",
    "Stamps",
    "blink_before_after",
    "draw_calibrators",
    "find_ds9",
    "picked_calibrators",
    "postage_stamps",
    "step_through",
]
