"""Finding a running DS9 (XPA first, then SAMP), or starting one, and saying why none answers."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time

from ..errors import DS9Error, InputError
from ._common import (
    _INSTALL_HINT,
    _START_HINT,
    _TRANSPORTS,
    DS9Target,
    Transport,
)
from .samp import _SAMPClient, _SAMPTransport
from .xpa import _xpa_not_found_message, _xpa_targets, _XPATransport, stopped_hint

__all__ = ["connect", "find_ds9"]


def find_ds9(transport: Transport = "auto", timeout: float = 10.0) -> list[DS9Target]:
    """List the DS9s that can be reached.

    Parameters
    ----------
    transport : {"auto", "xpa", "samp"}
        Where to look: XPA, SAMP, or both (``auto``; XPA first).
    timeout : float
        Seconds to wait for the XPA name server or the SAMP hub.

    Returns
    -------
    list of DS9Target
        One entry per DS9 (over ``auto``, a DS9 reachable over both is listed once, by XPA).

    Examples
    --------
    >>> [t.name for t in find_ds9()]  # doctest: +SKIP
    ['ds9']
    """
    check_transport(transport)
    targets: list[DS9Target] = []
    if transport in ("auto", "xpa"):
        try:
            targets += _xpa_targets(timeout)
        except DS9Error:
            if transport == "xpa":
                raise
    if transport in ("auto", "samp"):
        try:
            client = _SAMPClient(timeout)
        except DS9Error:
            if transport == "samp":
                raise
        else:
            try:
                names = {t.name for t in targets}
                targets += [t for t in client.ds9_targets(timeout) if t.name not in names]
            finally:
                client.close()
    return targets


def check_transport(transport: str) -> None:
    """Raise `InputError` unless ``transport`` is ``auto``, ``xpa`` or ``samp``."""
    if transport not in _TRANSPORTS:
        raise InputError(f"unknown transport {transport!r}; use one of {', '.join(_TRANSPORTS)}")


def connect(
    target: str | None, transport: str, start: bool, timeout: float
) -> tuple[_XPATransport | _SAMPTransport, subprocess.Popen | None]:
    """Reach the DS9 titled ``target`` (any, when None), starting one with ``start``.

    Returns
    -------
    (transport, process)
        The connection, and the DS9 process when this call started it (else None).

    Raises
    ------
    DS9Error
        No DS9 answers (and ``start`` is false), several answer and no ``target`` is given,
        ``ds9`` is not installed, or the started DS9 exits or does not answer in time.
    """
    deadline = _Deadline(timeout)
    notes: dict[str, str] = {}
    connection = _find(target, transport, deadline, notes)
    if connection is not None:
        return connection, None
    if not start:
        if "xpa" in notes:
            raise DS9Error(f"{notes['xpa']} (and no DS9 answers over SAMP)")
        if transport == "samp" and "samp" in notes:
            raise DS9Error(notes["samp"])
        raise DS9Error(_not_found(target, transport, deadline))
    title = target or "xrbid"
    process = _launch(title, transport)
    try:
        # DS9 itself takes seconds to start: its wait is not cut by the time limit
        wait = max(timeout, 30.0)
        started = _Deadline(wait)
        while started.left() > 0:
            if process.poll() is not None:
                raise DS9Error(_launch_failure(process))
            connection = _find(
                title, "xpa" if transport == "auto" else transport, _Deadline(timeout)
            )
            if connection is not None:
                return connection, process
            time.sleep(0.2)
        raise DS9Error(
            f"started ds9 (pid {process.pid}) but it did not answer over {transport} "
            f"within {wait:g} s; check the DS9 window and DISPLAY"
        )
    except BaseException:
        stop_started(process)
        raise


class _Deadline:
    """One time budget shared by the steps of finding DS9 (name server, hub, DS9s)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self, floor: float = 0.0) -> float:
        return max(floor, self.end - time.monotonic())


def stop_started(process: subprocess.Popen | None) -> None:
    """Stop a DS9 this package started (by its pid), if it still runs."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()


def _pick(targets: list[DS9Target], target: str | None, where: str) -> DS9Target | None:
    if target is not None:
        targets = [t for t in targets if target in (t.name, t.address)]
    if not targets:
        return None
    if len(targets) > 1:
        listed = ", ".join(str(t) for t in targets)
        raise DS9Error(
            f"{len(targets)} DS9s answer over {where}: {listed}; say which one with "
            "target=NAME (--target NAME), NAME being the DS9 title (`ds9 -title NAME`)"
        )
    return targets[0]


def _find(target: str | None, transport: str, deadline: _Deadline, notes: dict | None = None):
    """The connection to the DS9 asked for, or None; ``notes`` keeps why XPA failed
    (``"xpa"``) and which DS9s registered with the SAMP hub did not answer (``"samp"``)."""
    if transport in ("auto", "xpa"):
        try:
            found = _pick(_xpa_targets(deadline.left(0.5)), target, "XPA")
        except DS9Error as exc:
            if transport == "xpa":
                raise
            if notes is not None:
                notes["xpa"] = str(exc)
            found = None
        if found is not None:
            return _XPATransport(found)
    if transport in ("auto", "samp"):
        try:
            client = _SAMPClient(deadline.left(0.5))
        except DS9Error:
            if transport == "samp":
                raise
            return None
        try:
            found = _pick(client.ds9_targets(deadline.left(0.5)), target, "SAMP")
        except BaseException:
            client.close()
            raise
        if found is not None:
            return _SAMPTransport(client, found, deadline.seconds)
        silent = client.silent
        client.close()
        if silent and notes is not None:
            notes["samp"] = _silent_samp_message(target, silent, deadline.seconds)
    return None


def _silent_samp_message(target: str | None, silent: list[str], timeout: float) -> str:
    stopped = stopped_hint(target)
    if stopped is not None:
        return stopped
    what = f"no DS9 titled {target!r} answers" if target else "no DS9 answers"
    clients = ", ".join(silent)
    which = f"DS9 client {clients} is" if len(silent) == 1 else f"DS9 clients {clients} are"
    return (
        f"{what} over SAMP: {which} registered with the hub but did not answer within "
        f"{min(timeout, 3.0):g} s (frozen, busy, or killed without leaving the hub); check the "
        f"DS9 windows, or start it with {_START_HINT.split('with ', 1)[1]}"
    )


def _not_found(target: str | None, transport: str, deadline: _Deadline) -> str:
    if shutil.which("ds9") is None:
        return _INSTALL_HINT
    if transport == "samp":
        what = f"no DS9 titled {target!r}" if target else "no DS9"
        return (
            f"{what} is registered with the SAMP hub: {_START_HINT}; a DS9 started before "
            "the hub connects with File > SAMP > Connect"
        )
    try:
        others = _xpa_targets(deadline.left(0.5))
    except DS9Error as exc:
        return str(exc)
    message = _xpa_not_found_message(target, others, deadline.left(0.5))
    if transport == "auto":
        message += " (nor over SAMP)"
    return message


def _launch(title: str, transport: str) -> subprocess.Popen:
    exe = shutil.which("ds9")
    if exe is None:
        raise DS9Error(_INSTALL_HINT)
    args = [exe, "-title", title]
    args += ["-xpa", "no"] if transport == "samp" else []
    log = tempfile.TemporaryFile()
    try:
        process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # DS9 stays open after Python exits
        )
    except OSError as exc:
        raise DS9Error(f"cannot start {exe}: {exc}") from None
    process._xrbid_log = log  # type: ignore[attr-defined]
    return process


def _launch_failure(process: subprocess.Popen) -> str:
    log = process._xrbid_log  # type: ignore[attr-defined]
    log.seek(0)
    lines = [ln.strip() for ln in log.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    said = "; ".join(lines[-3:])[-300:] if lines else "no message"
    windowing = ("display" in said.lower()) or ("window system" in said.lower())
    hint = "; is DISPLAY set to a running X server?" if windowing else ""
    return f"DS9 exited at start-up (code {process.returncode}): {said}{hint}"
