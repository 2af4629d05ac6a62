"""Pieces shared by the DS9 transports and the session: targets, time limits, messages."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from ..errors import DS9Error, InputError

Transport = Literal["auto", "xpa", "samp"]
_TRANSPORTS = ("auto", "xpa", "samp")

CALIBRATOR_TAG = "xrbid-calibrator"
"""Tag DS9 shows on the candidate calibrators drawn by :func:`draw_calibrators`."""

# Characters that cannot travel inside one double-quoted DS9 word, and why. XPA splits its
# parameter list on ';' outside double quotes; DS9 then reads the parameters as a Tcl list
# (a backslash escapes, braces and double quotes delimit) and hands them to its yacc lexers
# (braces quote again); "name[...]" is DS9's FITS extension syntax.
_WORD_REFUSED = {
    '"': "a double quote ends the quoted word",
    "\\": "DS9 reads a backslash as an escape",
    "{": "DS9 reads braces as quotes",
    "}": "DS9 reads braces as quotes",
    "[": "DS9 reads name[...] as a FITS extension or section",
    "]": "DS9 reads name[...] as a FITS extension or section",
}
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_START_HINT = "start it with `ds9 &` (or pass start=True, --start on the command line)"
_INSTALL_HINT = (
    "SAOImage DS9 is not installed (no `ds9` on PATH): install it (Debian/Ubuntu: "
    "apt install saods9 xpa-tools; others: https://ds9.si.edu) or put it on PATH"
)

T = TypeVar("T")


def ds9_word(value: object, what: str) -> str:
    """``value`` as one word of a DS9 command (double-quoted), or an `InputError`.

    Every value that is not a number or a fixed keyword of this package (file paths above
    all) goes into a DS9 command through this function, so that DS9 reads it as one word over
    both transports: a ``;`` (XPA's command separator), spaces, ``$`` or ``#`` stay inside the
    word. Characters that no quoting carries through XPA, DS9's Tcl list parsing and its
    command lexers are refused, with one line naming the character.

    Parameters
    ----------
    value : str or path-like
        The value, e.g. an absolute file path.
    what : str
        What it is, for the message (``"image path"``).

    Returns
    -------
    str
        ``"value"``, ready to put into a command.

    Raises
    ------
    InputError
        ``value`` is empty or has a character DS9 cannot take in one word.
    """
    text = str(value)
    if not text:
        raise InputError(f"the {what} is empty")
    control = _CONTROL_RE.search(text)
    if control is not None:
        raise InputError(
            f"the {what} {text!r} has the control character {control.group()!r} (a newline, "
            "tab ...), which DS9 cannot take in a name; use a name without it (rename or copy "
            "the file)"
        )
    for char, why in _WORD_REFUSED.items():
        if char in text:
            raise InputError(
                f"the {what} {text!r} has the character {char!r}, which DS9 cannot take in a "
                f"name ({why}); use a name without it (rename or copy the file)"
            )
    return f'"{text}"'


# --------------------------------------------------------------------------------------------
# time limits
# --------------------------------------------------------------------------------------------


def _with_timeout(call: Callable[[], T], timeout: float, what: str) -> T:
    """Run ``call`` in a daemon thread; raise `DS9Error` if it takes longer than ``timeout``.

    XPA and SAMP calls block on sockets; a DS9 that is frozen (or killed while the operating
    system keeps its socket half-open) would block the caller for minutes. The worker thread is a
    daemon, so a call that never returns cannot keep Python from exiting.
    """
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc

    worker = threading.Thread(target=run, name="xrbid-ds9-call", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise DS9Error(
            f"DS9 did not answer {what} within {timeout:g} s: it is frozen, busy or was killed; "
            "check the DS9 window, then connect again (or raise the timeout)"
        )
    if "error" in box:
        raise box["error"]
    return box["value"]


@dataclass(frozen=True)
class DS9Target:
    """A DS9 that can be reached: its title, the transport and the transport's address.

    Attributes
    ----------
    name : str
        DS9's title (``ds9 -title NAME``); ``ds9`` unless set.
    transport : {"xpa", "samp"}
        How it is reached.
    address : str
        XPA ``host:port`` (or socket) id, or the SAMP client id.
    """

    name: str
    transport: str
    address: str

    def __str__(self) -> str:
        return f"{self.name} ({self.transport} {self.address})"


class _DS9CommandError(DS9Error):
    """DS9 answered, with an error message (a bad file, a syntax error ...)."""
