"""The DS9 session: one object, the same methods over XPA and SAMP.

This module holds the connection (the raw ``get``/``set`` with their time limits, and
closing); the methods that speak the workflow come from one module per concept: images
(``_images.py``), regions (``_regions.py``), the view: pan, zoom, crosshair, stretch
(``_view.py``), frames: tile, blink, match (``_frames.py``) and pictures (``_snapshot.py``).
Finding and starting DS9 is ``connect.py``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

from ..errors import DS9Error, InputError
from ._common import DS9Target, T, Transport, _DS9CommandError, _with_timeout
from ._frames import FramesMixin
from ._images import ImagesMixin
from ._regions import RegionsMixin
from ._snapshot import SnapshotMixin
from ._view import ViewMixin
from .connect import check_transport, connect, find_ds9
from .xpa import stopped_hint

__all__ = ["DS9", "find_ds9"]


# --------------------------------------------------------------------------------------------
# the session
# --------------------------------------------------------------------------------------------


class DS9(ImagesMixin, RegionsMixin, ViewMixin, FramesMixin, SnapshotMixin):
    """A live SAOImage DS9, reached over XPA or SAMP.

    Parameters
    ----------
    target : str, optional
        DS9's title (``ds9 -title NAME``) or transport address. Needed when several DS9s run.
    transport : {"auto", "xpa", "samp"}
        ``auto`` looks over XPA first, then over SAMP.
    start : bool
        Start ``ds9`` (titled ``target``, default ``xrbid``) when none answers, and wait until
        it does (up to ``max(timeout, 30)`` seconds).
    timeout : float
        Time limit of every call, in seconds.

    Raises
    ------
    DS9Error
        DS9 not running (and ``start`` false), not installed, several DS9s and no ``target``,
        XPA name server stale or ``XPA_METHOD`` mismatch, no SAMP hub.

    Examples
    --------
    >>> with DS9(start=True) as ds9:  # doctest: +SKIP
    ...     ds9.open_image("a478hst-cutout.fits")
    ...     ds9.load_regions("m101_2sig.reg")
    ...     ds9.pan_to(63.35149, 10.46433)
    """

    def __init__(
        self,
        target: str | None = None,
        transport: Transport = "auto",
        start: bool = False,
        timeout: float = 10.0,
    ) -> None:
        check_transport(transport)
        if not timeout > 0:
            raise InputError(f"timeout must be positive, not {timeout!r}")
        self.timeout = float(timeout)
        self._imgwin_loaded = False
        self._imgwin_refused = ""
        self._wcs_cache: dict[str, Any] = {}
        self._transport, self.process = connect(target, transport, start, self.timeout)

    @property
    def transport(self) -> str:
        """``"xpa"`` or ``"samp"``: how this session talks to DS9."""
        return self._conn.name

    @property
    def target(self) -> DS9Target:
        """The DS9 this session talks to."""
        return self._conn.target

    @property
    def _conn(self):
        if self._transport is None:
            raise DS9Error("this DS9 session is closed; open a new one with DS9(...)")
        return self._transport

    def __repr__(self) -> str:
        state = "closed" if self._transport is None else str(self._transport.target)
        return f"<DS9 {state}>"

    def __enter__(self) -> DS9:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self, quit: bool = False) -> None:
        """End the session; with ``quit``, also tell DS9 to exit.

        A DS9 started with ``start=True`` stays open unless ``quit`` is true.
        """
        if self._transport is None:
            return
        try:
            if quit:
                try:
                    self.set("exit")
                except DS9Error:
                    pass  # DS9 may close before answering
                if self.process is not None:
                    try:
                        self.process.wait(5)
                    except subprocess.TimeoutExpired:
                        self.process.kill()
        finally:
            if self._transport is not None:  # a DS9 that exits at once closes it already
                self._transport.close()
            self._transport = None

    # -- raw commands -------------------------------------------------------------------------

    def get(self, command: str, *, timeout: float | None = None) -> str:
        """Send a DS9 ``get`` command (the XPA access point and its parameters) and return the
        answer. ``command`` is passed to DS9 as is: build it from trusted text only.

        Examples
        --------
        >>> ds9.get("frame")  # doctest: +SKIP
        '1'
        """
        conn = self._conn
        limit = self.timeout if timeout is None else timeout
        what = f"'get {command}'"
        if conn.name == "xpa":
            return self._guard(lambda: conn.get(command), limit, what)
        return self._guard(lambda: conn.get(command, limit), limit, what)

    def set(self, command: str, data: str | None = None, *, timeout: float | None = None) -> None:
        """Send a DS9 ``set`` command, with optional ``data`` (e.g. region text) sent apart from
        the command. ``command`` is passed to DS9 as is: build it from trusted text only.

        Examples
        --------
        >>> ds9.set("zoom to fit")  # doctest: +SKIP
        """
        conn = self._conn
        limit = self.timeout if timeout is None else timeout
        what = f"'set {command}'"
        if conn.name == "xpa":
            self._guard(lambda: conn.set(command, data), limit, what)
        else:
            self._guard(lambda: conn.set(command, data, limit), limit, what)

    def _guard(self, call: Callable[[], T], timeout: float, what: str) -> T:
        try:
            return _with_timeout(call, timeout, what)
        except _DS9CommandError:
            raise
        except DS9Error as exc:
            # a frozen or vanished DS9 (or SAMP hub): the session cannot be trusted any more
            name = self._transport.target.name if self._transport is not None else "?"
            if self._transport is not None:
                self._transport.close()
                self._transport = None
            message = str(exc)
            if not message.startswith("the SAMP hub"):
                stopped = stopped_hint(name)
                if stopped is not None:
                    raise DS9Error(f"{stopped} (it did not answer {what})") from None
            raise DS9Error(f"DS9 {name!r}: {message}") from None
