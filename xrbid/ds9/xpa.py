"""The XPA transport (pyds9): finding DS9 through the XPA name server, talking to it, and
saying what is wrong when it cannot be found (stale name server, XPA_METHOD mismatch)."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

from ..errors import DS9Error
from ._common import _START_HINT, DS9Target, _DS9CommandError, _with_timeout


def _import_pyds9():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyds9 imports distutils
            import pyds9
            import xpa
    except ImportError as exc:
        raise DS9Error(
            f"pyds9 (the XPA library) cannot be imported ({exc}): pip install pyds9, "
            "or use the SAMP transport (transport='samp', --transport samp)"
        ) from None
    return pyds9, xpa


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


def _xpa_targets(timeout: float) -> list[DS9Target]:
    """DS9s registered with the XPA name server (raises DS9Error when the lookup hangs)."""
    _, xpa = _import_pyds9()

    def lookup() -> list[bytes]:
        try:
            return xpa.xpaaccess(b"DS9:*", None, 1024) or []
        except (TypeError, ValueError):  # pyds9 cannot decode XPA's messages; means "none"
            return []

    try:
        found = _with_timeout(lookup, timeout, "the XPA name-server lookup")
    except DS9Error:
        raise DS9Error(
            f"the XPA name server (xpans, XPA_METHOD={_xpa_method()}) did not answer within "
            f"{timeout:g} s: it is stale or hung; stop that xpans process (`pkill -x xpans` or "
            "kill its pid) and start ds9 again, which starts a fresh name server"
        ) from None
    targets = []
    for entry in found:
        text = entry.decode() if isinstance(entry, bytes) else str(entry)
        # "DS9:name host:port"
        parts = text.split()
        if len(parts) >= 2 and parts[0].upper().startswith("DS9:"):
            targets.append(DS9Target(parts[0][4:], "xpa", parts[1]))
    return targets


class _XPATransport:
    name = "xpa"

    def __init__(self, target: DS9Target) -> None:
        pyds9, xpa = _import_pyds9()
        self._xpa = xpa
        self.target = target
        self._id = target.address.encode()
        try:
            self._ds9 = pyds9.DS9(target.address, start=False, verify=False)
        except (ValueError, TypeError) as exc:
            raise DS9Error(f"cannot connect to DS9 {target} over XPA: {exc}") from None

    def get(self, command: str) -> str:
        """XPAGet through pyds9's binding; its Python wrapper cannot decode error messages,
        so the reply and the error text are read here."""
        xpa = self._xpa
        n = 1
        bufs = (xpa.c_byte_p * n)()
        names = (xpa.c_byte_p * n)()
        errs = (xpa.c_byte_p * n)()
        lens = (xpa.ctypes.c_int * n)()
        got = xpa.XPAGet(None, self._id, command.encode(), None, bufs, lens, names, errs, n)
        try:
            if got == 0:
                raise DS9Error(
                    f"DS9 {self.target.name!r} no longer answers over XPA (closed or killed); "
                    f"{_START_HINT}"
                )
            if errs[0]:
                raise _xpa_error(xpa.ctypes.string_at(errs[0]), self.target.name)
            data = xpa.ctypes.string_at(bufs[0], lens[0]) if lens[0] else b""
        finally:
            xpa._freebufs(bufs, n)
            xpa._freebufs(names, n)
            xpa._freebufs(errs, n)
        return data.decode("utf-8", "replace").strip()

    def set(self, command: str, data: str | None = None) -> None:
        try:
            got = self._ds9.set(command, data)
        except ValueError as exc:
            raise _xpa_error(str(exc), self.target.name) from None
        if got == 0:
            raise DS9Error(
                f"DS9 {self.target.name!r} no longer answers over XPA (closed or killed); "
                f"{_START_HINT}"
            )

    def close(self) -> None:
        pass


def _ds9_argvs() -> list[tuple[int, list[str]]]:
    """Running ``ds9`` processes (pid, argument list) of any user, read from /proc."""
    found = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [a.decode("utf-8", "replace") for a in argv if a]
        if any(w.endswith("ds9.tcl") or Path(w).name == "ds9" for w in words[:3]):
            found.append((int(entry.name), words))
    return found


def _ds9_processes() -> list[tuple[int, str]]:
    """Running ``ds9`` processes (pid, command line) of any user, read from /proc."""
    return [(pid, " ".join(words)) for pid, words in _ds9_argvs()]


def _ds9_process_titles() -> list[tuple[int, str]]:
    """Running ``ds9`` processes (pid, title): the ``-title`` argument, else DS9's default
    title ``ds9``."""
    titled = []
    for pid, words in _ds9_argvs():
        title = "ds9"
        for flag, value in itertools.pairwise(words):
            if flag == "-title":
                title = value
        titled.append((pid, title))
    return titled


def _xpa_other_methods(timeout: float = 3.0) -> list[tuple[str, str]]:
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


def _xpa_not_found_message(target: str | None, others: list[DS9Target]) -> str:
    what = f"no DS9 titled {target!r}" if target else "no DS9"
    elsewhere = [(m, n) for m, n in _xpa_other_methods() if target in (None, n)]
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
