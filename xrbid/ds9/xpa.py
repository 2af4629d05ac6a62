"""The XPA transport (the XPA library that ships with pyds9): finding DS9 through the XPA name
server, talking to it, and saying what is wrong when it cannot be found (stale or stopped name
server, XPA_METHOD mismatch)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

from ..errors import DS9Error
from ._common import _START_HINT, DS9Target, _DS9CommandError, _with_timeout
from ._process import ds9_processes, xpans_processes


def _import_xpa():
    """The ctypes binding of the XPA library that ships with pyds9.

    Only ``xpa`` is imported, never the ``pyds9`` module: importing ``pyds9`` starts a detached
    ``xpans`` that inherits the terminal's output (so ``out=$(xrbid ds9 ...)`` never returns)
    and runs ``ps``.
    """
    try:
        import xpa
    except (ImportError, OSError) as exc:
        raise DS9Error(
            f"the XPA library of pyds9 cannot be loaded ({exc}): pip install pyds9, "
            "or use the SAMP transport (transport='samp', --transport samp)"
        ) from None
    return xpa


def _xpa_message(text: str | bytes) -> str:
    """DS9's error text without the ``XPA$ERROR`` prefix and the ``(DS9:name id)`` suffix."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = " ".join(text.split())
    text = re.sub(r"^XPA\$(ERROR|WARNING)\s*", "", text)
    return re.sub(r"\s*\((DS9:\S+ \S+|\?:\?)\)$", "", text).strip()


def _xpa_error(text: str | bytes, name: str) -> DS9Error:
    """The exception for an XPA error: DS9's own answer (its messages end with the
    ``(DS9:title address)`` of the access point), or a failure of the connection itself."""
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    if re.search(r"\(DS9:\S+ \S+\)\s*$", raw):
        return _DS9CommandError(_xpa_message(raw))
    return DS9Error(
        f"DS9 {name!r} stopped answering over XPA ({_xpa_message(raw)}): it was closed, frozen "
        f"or killed; {_START_HINT}"
    )


def _xpa_method() -> str:
    return os.environ.get("XPA_METHOD", "inet")


def _name_server_port() -> str:
    """The port of the inet name server this process asks (``XPA_NSINET=host:port``)."""
    where = os.environ.get("XPA_NSINET", "")
    port = where.split(":", 1)[1] if ":" in where else ""
    return port.split(",")[0] or "14285"


def _name_server_lookup(xpa, template: bytes) -> list[tuple[str, str, str]]:
    """(class, name, address) of the access points the name server lists for ``template``.

    ``XPANSLookup`` asks the name server only; unlike ``XPAAccess`` it does not contact each
    DS9, so one frozen DS9 cannot stall the search for another.
    """
    import ctypes

    lookup = xpa.libxpa.XPANSLookup
    table = ctypes.POINTER(ctypes.POINTER(ctypes.c_char_p))
    lookup.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p] + [table] * 4
    lookup.restype = ctypes.c_int
    classes, names, methods, infos = (ctypes.POINTER(ctypes.c_char_p)() for _ in range(4))
    n = lookup(None, template, b"g", *(ctypes.byref(a) for a in (classes, names, methods, infos)))
    found = []
    for i in range(max(n, 0)):
        found.append(
            tuple(
                (column[i] or b"").decode("utf-8", "replace")
                for column in (classes, names, methods)
            )
        )
    return found  # the few strings libxpa allocated for the answer are left to it


def _xpa_targets(timeout: float) -> list[DS9Target]:
    """DS9s registered with the XPA name server (raises DS9Error when the lookup hangs)."""
    xpa = _import_xpa()
    try:
        found = _with_timeout(
            lambda: _name_server_lookup(xpa, b"DS9:*"), timeout, "the XPA name-server lookup"
        )
    except DS9Error:
        raise DS9Error(_lookup_timeout_message(timeout)) from None
    return [
        DS9Target(name, "xpa", address)
        for klass, name, address in found
        if klass.upper() == "DS9" and name and address
    ]


def stopped_hint(title: str | None) -> str | None:
    """A sentence blaming a stopped DS9 (of that title, or any when None), or None."""
    for process in ds9_processes():
        if process.stopped and title in (None, process.title):
            return (
                f"DS9 {process.title!r} (pid {process.pid}) is stopped (SIGSTOP, or Ctrl-Z in "
                f"its terminal) and cannot answer; resume it with `kill -CONT {process.pid}` "
                "(or `fg` in its terminal)"
            )
    return None


def _lookup_timeout_message(timeout: float) -> str:
    """Why the name server did not answer: stopped, or hung."""
    servers = [s for s in xpans_processes() if s.title == _name_server_port()]
    for server in servers:
        if server.stopped:
            return (
                f"the XPA name server xpans (pid {server.pid}) is stopped (SIGSTOP), so no DS9 "
                f"can be found over XPA; resume it with `kill -CONT {server.pid}`, or stop it "
                f"(`kill {server.pid}`) and start ds9 again"
            )
    pids = " ".join(str(s.pid) for s in servers)
    stop = f"stop it (`kill {pids}`)" if pids else "stop that xpans process"
    return (
        f"the XPA name server (xpans, XPA_METHOD={_xpa_method()}) did not answer within "
        f"{timeout:g} s: it is stale or hung; {stop} and start ds9 again, which starts a fresh "
        "name server"
    )


class _XPATransport:
    name = "xpa"

    def __init__(self, target: DS9Target) -> None:
        self._xpa = _import_xpa()
        self.target = target
        self._id = target.address.encode()

    def _lost(self) -> DS9Error:
        return DS9Error(
            f"DS9 {self.target.name!r} no longer answers over XPA (closed or killed); {_START_HINT}"
        )

    def get(self, command: str) -> str:
        """XPAGet through the binding's C call; its Python wrapper cannot decode error
        messages, so the reply and the error text are read here."""
        xpa = self._xpa
        bufs, names, errs = (xpa.c_byte_p * 1)(), (xpa.c_byte_p * 1)(), (xpa.c_byte_p * 1)()
        lens = (xpa.ctypes.c_int * 1)()
        got = xpa.XPAGet(None, self._id, command.encode(), None, bufs, lens, names, errs, 1)
        try:
            self._check(got, errs)
            data = xpa.ctypes.string_at(bufs[0], lens[0]) if lens[0] else b""
        finally:
            self._free(bufs, names, errs)
        return data.decode("utf-8", "replace").strip()

    def set(self, command: str, data: str | None = None) -> None:
        """XPASet, with ``data`` (region text) in the data buffer, apart from the command."""
        xpa = self._xpa
        names, errs = (xpa.c_byte_p * 1)(), (xpa.c_byte_p * 1)()
        buf = None
        if data is not None:
            buf = data.encode("utf-8")
            if not buf.endswith(b"\n"):
                buf += b"\n"
        size = len(buf) if buf is not None else 0
        got = xpa.XPASet(None, self._id, command.encode(), None, buf, size, names, errs, 1)
        try:
            self._check(got, errs)
        finally:
            self._free(names, errs)

    def _check(self, got: int, errs) -> None:
        """Raise for an XPA call that reached no DS9 (``got`` 0) or that DS9 answered with an
        error message."""
        if got == 0:
            raise self._lost()
        if errs[0]:
            raise _xpa_error(self._xpa.ctypes.string_at(errs[0]), self.target.name)

    def _free(self, *buffers) -> None:
        """Free the one-entry reply, name and error arrays libxpa filled in."""
        for buffer in buffers:
            self._xpa._freebufs(buffer, 1)

    def close(self) -> None:
        pass


def _ds9_process_titles() -> list[tuple[int, str]]:
    """Running DS9 processes (pid, title)."""
    return [(p.pid, p.title) for p in ds9_processes()]


def _xpa_other_methods(timeout: float = 2.0) -> list[tuple[str, str]]:
    """DS9s registered with the name server of an XPA method other than this process's.

    Asks each name server with ``xpaget -m METHOD xpans`` (a subprocess, since the XPA library
    reads ``XPA_METHOD`` once per process); its lines read ``DS9 <title> gs <address> <user>``.
    """
    exe = shutil.which("xpaget")
    if exe is None:
        return []
    mine = "local" if _xpa_method().lower() in ("local", "unix") else "inet"
    found = []
    for method in ("inet", "local"):
        if method == mine:
            continue
        try:
            out = subprocess.run(
                [exe, "-m", method, "xpans"],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            ).stdout
        except (subprocess.TimeoutExpired, OSError):
            continue
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "DS9":
                found.append((method, parts[1]))
    return found


def _xpa_not_found_message(
    target: str | None, others: list[DS9Target], timeout: float = 2.0
) -> str:
    what = f"no DS9 titled {target!r}" if target else "no DS9"
    elsewhere = [(m, n) for m, n in _xpa_other_methods(min(timeout, 2.0)) if target in (None, n)]
    if elsewhere:
        method, name = elsewhere[0]
        return (
            f"{what} answers over XPA with XPA_METHOD={_xpa_method()}, but DS9 {name!r} "
            f"answers with XPA_METHOD={method}: XPA_METHOD mismatch; set XPA_METHOD={method} "
            "before starting Python (or restart ds9 with the same XPA_METHOD as xrbid)"
        )
    if target and others:
        answering = ", ".join(repr(t.name) for t in others)
        return (
            f"{what} answers over XPA; DS9s that answer: {answering}; pass one of these as "
            f"target (--target), or start it with `ds9 -title {target} &` (or pass start=True, "
            "--start)"
        )
    if others:
        return f"{what} is running: {_START_HINT}"
    # no DS9 answers over XPA at all: a running ds9 points at the name server only when its
    # title is the one asked for (or none was asked for)
    running = _ds9_process_titles()
    unrelated = [(pid, title) for pid, title in running if target and title != target]
    if running and len(unrelated) == len(running):
        listed = ", ".join(f"{title!r} (pid {pid})" for pid, title in unrelated)
        return (
            f"{what} is running (ds9 running: {listed}; no DS9 answers over XPA, so those "
            "have a stale name server or another XPA_METHOD); start it with "
            f"`ds9 -title {target} &` (or pass start=True, --start)"
        )
    if running:
        pid = next(pid for pid, title in running if target in (None, title))
        return (
            f"{what} is registered with the XPA name server, yet a ds9 process runs (pid {pid}): "
            "the name server is stale or ds9 runs with another XPA_METHOD; in DS9 use "
            "File > XPA > Connect, or restart ds9"
        )
    return f"{what} is running: {_START_HINT}"
