"""Pieces shared by the DS9 transports and the session: targets, time limits, messages."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from ..errors import DS9Error

Transport = Literal["auto", "xpa", "samp"]
_TRANSPORTS = ("auto", "xpa", "samp")

CALIBRATOR_TAG = "xrbid-calibrator"
"""Tag DS9 shows on the candidate calibrators drawn by :func:`draw_calibrators`."""

# DS9's command parser treats braces as quotes and newlines/semicolons as command breaks.
_UNSAFE_PATH_RE = re.compile(r"[{}\x00-\x1f\x7f]")
_START_HINT = "start it with `ds9 &` (or pass start=True, --start on the command line)"
_INSTALL_HINT = (
    "SAOImage DS9 is not installed (no `ds9` on PATH): install it (Debian/Ubuntu: "
    "apt install saods9 xpa-tools; others: https://ds9.si.edu) or put it on PATH"
)

T = TypeVar("T")


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
