"""Drive a running SAOImage DS9: one session object over two transports, XPA and SAMP.

:class:`DS9` finds a running DS9 (or starts one) and speaks the workflow: open an image, draw
regions, read back what is drawn (including what the user added, moved, deleted or selected),
pan, zoom, put the crosshair on a position, tile and blink frames, save a PNG of what DS9
shows. The same methods behave the same over both transports:

* **XPA** through `pyds9` (the XPA name server ``xpans`` finds DS9 by its title);
* **SAMP** through `pyvo.samp` (DS9 answers the ``ds9.set`` / ``ds9.get`` message types,
  which carry the same commands as XPA).

Safety rules:

* region *text* goes to DS9 as data (the XPA data buffer, or a file named in the SAMP
  message), never inside a command, so a label or an ID can never become a DS9 command; tables
  are turned into region text by :func:`xrbid.regions.format_regions`, which escapes labels;
* commands carry only numbers formatted here, fixed keywords, and file paths checked for the
  characters DS9's command parser treats specially;
* every call has a time limit: a DS9 that is frozen or killed half-way through a command gives
  a `DS9Error` after ``timeout`` seconds, never a hang.

The calibrator workflow (draw candidates, step through them, read back the ones the user
marked) and postage stamps are built on the session: :func:`draw_calibrators`,
:func:`step_through`, :func:`picked_calibrators`, :func:`blink_before_after`,
:func:`postage_stamps`.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd

from ._io import atomic_output, check_output
from .errors import DS9Error, InputError

__all__ = [
    "CALIBRATOR_TAG",
    "DS9",
    "DS9Target",
    "blink_before_after",
    "draw_calibrators",
    "find_ds9",
    "picked_calibrators",
    "postage_stamps",
    "step_through",
]

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


# --------------------------------------------------------------------------------------------
# XPA transport (pyds9)
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# SAMP transport (pyvo.samp)
# --------------------------------------------------------------------------------------------


def _samp_hub_hint() -> str:
    where = os.environ.get("SAMP_HUB") or str(Path.home() / ".samp")
    return (
        f"no SAMP hub is running (looked at {where}): start one (TOPCAT, Aladin, or "
        "`python -c 'from pyvo.samp import SAMPHubServer as H; h=H(); h.start(wait=True)'`) "
        "before DS9, or use XPA (--transport xpa)"
    )


class _SAMPClient:
    """A pyvo SAMP client registered with the running hub (one per session)."""

    def __init__(self, timeout: float) -> None:
        try:
            from pyvo.samp import SAMPIntegratedClient
            from pyvo.samp.errors import SAMPHubError
        except ImportError as exc:  # pragma: no cover - pyvo is a dependency
            raise DS9Error(f"pyvo.samp cannot be imported ({exc}): pip install pyvo") from None
        self._count = 0
        # callable: DS9's answers come back through this client's receiveResponse
        self.client = SAMPIntegratedClient(
            name="xrbid",
            description="xrbid: optical counterparts of X-ray binaries",
            addr="127.0.0.1",
        )

        def connect() -> None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.client.connect()

        try:
            _with_timeout(connect, timeout, "the SAMP hub registration")
        except SAMPHubError:
            raise DS9Error(_samp_hub_hint()) from None
        except DS9Error:
            raise DS9Error(
                f"the SAMP hub did not answer within {timeout:g} s: it is stale or hung; "
                "restart it (or remove its lock file ~/.samp), or use XPA (--transport xpa)"
            ) from None
        except OSError as exc:
            raise DS9Error(f"{_samp_hub_hint()} ({exc})") from None

    def call(self, client_id: str, mtype: str, timeout: float, **params: str) -> dict:
        """Send ``mtype`` to ``client_id`` and wait for its response.

        The call is asynchronous (``call`` + ``receiveResponse``) rather than the hub's
        ``callAndWait``: the pyvo hub drops a synchronous reply that arrives before it has
        registered the call, which a local DS9 answering within a millisecond can do.
        """
        import xmlrpc.client

        from pyvo.samp.errors import SAMPProxyError

        self._count += 1
        tag = f"xrbid-{os.getpid()}-{self._count}"
        what = f"'{mtype} {params.get('cmd', '')}' over SAMP"
        answered = threading.Event()
        box: dict[str, dict] = {}

        def receive(private_key: str, responder_id: str, msg_tag: str, response: dict) -> None:
            box["response"] = response
            answered.set()

        self.client.bind_receive_response(tag, receive)
        try:
            _with_timeout(lambda: self.client.ecall(client_id, tag, mtype, **params), timeout, what)
            if not answered.wait(timeout):
                raise DS9Error(
                    f"DS9 did not answer {what} within {timeout:g} s: it is frozen, busy or was "
                    "killed; check the DS9 window, then connect again (or raise the timeout)"
                )
        except (SAMPProxyError, xmlrpc.client.Fault) as exc:
            raise DS9Error(
                f"the SAMP hub refused {what} ({exc}); is DS9 still connected?"
            ) from None
        except OSError as exc:
            raise DS9Error(
                f"the SAMP hub cannot be reached ({exc}): is it still running?"
            ) from None
        finally:
            self.client.unbind_receive_response(tag)
        return box["response"]

    def ds9_targets(self, timeout: float) -> list[DS9Target]:
        def listing() -> list[str]:
            found = []
            for cid in self.client.get_registered_clients():
                meta = self.client.get_metadata(cid)
                if "ds9" in str(meta.get("samp.name", "")).lower():
                    found.append(cid)
            return found

        # "version" answers "<title> <version>": the title names the DS9 as XPA does. The
        # DS9s are asked in parallel, so one that was killed without unregistering from the
        # hub costs one probe time, not one per dead client.
        probe = min(timeout, 3.0)
        clients = _with_timeout(listing, timeout, "the SAMP client listing")
        titles: dict[str, str] = {}

        def ask(cid: str) -> None:
            try:
                reply = self.call(cid, "ds9.get", probe, cmd="version")
            except DS9Error:
                return  # registered but not answering
            value = str(reply.get("samp.result", {}).get("value", ""))
            titles[cid] = value.rsplit(" ", 1)[0] if " " in value else "ds9"

        workers = [threading.Thread(target=ask, args=(cid,), daemon=True) for cid in clients]
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + probe + 2.0
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        return [DS9Target(titles[cid], "samp", cid) for cid in clients if cid in titles]

    def close(self) -> None:
        try:
            if self.client.is_connected:
                self.client.disconnect()
        except Exception:  # the hub may already be gone; nothing left to release
            pass


class _SAMPTransport:
    name = "samp"

    def __init__(self, client: _SAMPClient, target: DS9Target, timeout: float) -> None:
        self._client = client
        self.target = target
        self.timeout = timeout
        self._tmp = tempfile.TemporaryDirectory(prefix="xrbid-samp-")
        self._count = 0

    def _reply(self, mtype: str, params: dict[str, str], timeout: float) -> dict:
        reply = self._client.call(self.target.address, mtype, timeout, **params)
        status = reply.get("samp.status")
        if status == "samp.error":
            text = reply.get("samp.error", {}).get("samp.errortxt", "unknown error")
            raise _DS9CommandError(" ".join(str(text).split()))
        if status not in ("samp.ok", "samp.warning"):
            raise DS9Error(
                f"DS9 {self.target.name!r} did not answer over SAMP (hub reply {reply!r}); "
                f"it may have been closed: {_START_HINT}"
            )
        return reply.get("samp.result", {}) or {}

    def get(self, command: str, timeout: float) -> str:
        result = self._reply("ds9.get", {"cmd": command}, timeout)
        url = result.get("url")
        if url:
            # DS9 writes multi-line answers (regions, headers) to a file and sends its URL;
            # the inline value has its newlines flattened
            path = Path(unquote(urlparse(url).path))
            path = Path("/" + str(path).lstrip("/"))
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                raise DS9Error(f"cannot read DS9's SAMP answer file {path}: {exc}") from None
            finally:
                path.unlink(missing_ok=True)
            return text.strip()
        return str(result.get("value", "")).strip()

    def set(self, command: str, data: str | None, timeout: float) -> None:
        params = {"cmd": command}
        if data is not None:
            self._count += 1
            path = Path(self._tmp.name) / f"data{self._count}.txt"
            path.write_text(data, encoding="utf-8")
            params["url"] = path.as_uri()
        try:
            self._reply("ds9.set", params, timeout)
        finally:
            if data is not None:
                path.unlink(missing_ok=True)

    def close(self) -> None:
        self._client.close()
        self._tmp.cleanup()


class _DS9CommandError(DS9Error):
    """DS9 answered, with an error message (a bad file, a syntax error ...)."""


# --------------------------------------------------------------------------------------------
# finding and starting DS9
# --------------------------------------------------------------------------------------------


def _ds9_processes() -> list[tuple[int, str]]:
    """Running ``ds9`` processes (pid, command line) of any user, read from /proc."""
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
            found.append((int(entry.name), " ".join(words)))
    return found


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
        running = ", ".join(t.name for t in others)
        return (
            f"{what} answers over XPA (running: {running}); start it with "
            f"`ds9 -title {target} &` (or pass start=True, --start), or pick a running one"
        )
    running = _ds9_processes()
    if running and not others:
        pid = running[0][0]
        return (
            f"{what} is registered with the XPA name server, yet a ds9 process runs (pid {pid}): "
            "the name server is stale or ds9 runs with another XPA_METHOD; in DS9 use "
            "File > XPA > Connect, or restart ds9"
        )
    return f"{what} is running: {_START_HINT}"


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
    _check_transport(transport)
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


def _check_transport(transport: str) -> None:
    if transport not in _TRANSPORTS:
        raise InputError(f"unknown transport {transport!r}; use one of {', '.join(_TRANSPORTS)}")


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
    said = lines[-1] if lines else "no message"
    hint = "; is DISPLAY set to a running X server?" if "display" in said.lower() else ""
    return f"DS9 exited at start-up (code {process.returncode}): {said}{hint}"


# --------------------------------------------------------------------------------------------
# the session
# --------------------------------------------------------------------------------------------


class DS9:
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
        _check_transport(transport)
        if not timeout > 0:
            raise InputError(f"timeout must be positive, not {timeout!r}")
        self.timeout = float(timeout)
        self.process: subprocess.Popen | None = None
        self._imgwin_loaded = False
        self._transport: _XPATransport | _SAMPTransport | None = None
        try:
            self._transport = self._connect(target, transport, start)
        except BaseException:
            self._stop_started()
            raise

    # -- connection -------------------------------------------------------------------------

    def _connect(self, target: str | None, transport: str, start: bool):
        connection = self._find(target, transport)
        if connection is not None:
            return connection
        if not start:
            raise DS9Error(self._not_found(target, transport))
        title = target or "xrbid"
        self.process = _launch(title, transport)
        deadline = time.monotonic() + max(self.timeout, 30.0)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DS9Error(_launch_failure(self.process))
            connection = self._find(title, "xpa" if transport == "auto" else transport)
            if connection is not None:
                return connection
            time.sleep(0.2)
        raise DS9Error(
            f"started ds9 (pid {self.process.pid}) but it did not answer over {transport} "
            f"within {max(self.timeout, 30.0):g} s; check the DS9 window and DISPLAY"
        )

    def _find(self, target: str | None, transport: str):
        if transport in ("auto", "xpa"):
            try:
                found = _pick(_xpa_targets(self.timeout), target, "XPA")
            except DS9Error:
                if transport == "xpa":
                    raise
                found = None
            if found is not None:
                return _with_timeout(
                    lambda: _XPATransport(found), self.timeout, f"XPA at {found.address}"
                )
        if transport in ("auto", "samp"):
            try:
                client = _SAMPClient(self.timeout)
            except DS9Error:
                if transport == "samp":
                    raise
                return None
            try:
                found = _pick(client.ds9_targets(self.timeout), target, "SAMP")
            except BaseException:
                client.close()
                raise
            if found is not None:
                return _SAMPTransport(client, found, self.timeout)
            client.close()
        return None

    def _not_found(self, target: str | None, transport: str) -> str:
        if shutil.which("ds9") is None and not _ds9_processes():
            return _INSTALL_HINT
        if transport == "samp":
            what = f"no DS9 titled {target!r}" if target else "no DS9"
            return (
                f"{what} is registered with the SAMP hub: {_START_HINT}; a DS9 started before "
                "the hub connects with File > SAMP > Connect"
            )
        try:
            others = _xpa_targets(self.timeout)
        except DS9Error as exc:
            return str(exc)
        message = _xpa_not_found_message(target, others)
        if transport == "auto":
            message += " (nor over SAMP)"
        return message

    def _stop_started(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()

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
            # a frozen or vanished DS9: the session cannot be trusted any more
            name = self._transport.target.name if self._transport is not None else "?"
            if self._transport is not None:
                self._transport.close()
                self._transport = None
            raise DS9Error(f"DS9 {name!r}: {exc}") from None

    # -- images -----------------------------------------------------------------------------

    def open_image(self, path: str | os.PathLike, frame: Literal["new", "current"] = "new") -> int:
        """Load a FITS image into a new frame (or the current one); return the frame number.

        Raises
        ------
        InputError
            The file does not exist, or its path has characters DS9 cannot take.
        DS9Error
            DS9 cannot load it (not FITS, no image); the new frame is removed again.

        Examples
        --------
        >>> ds9.open_image("testdata/hst-wfpc2-abell478/a478hst-cutout.fits")  # doctest: +SKIP
        1
        """
        if frame not in ("new", "current"):
            raise InputError(f"frame must be 'new' or 'current', not {frame!r}")
        path = _safe_path(path, must_exist=True)
        made_frame = False
        if frame == "new" or not self.frames():
            self.set("frame new")
            made_frame = True
        number = self.current_frame()
        try:
            self.set(f"file {{{path}}}", timeout=max(self.timeout, 30.0))
        except _DS9CommandError as exc:
            if made_frame:
                self.set("frame delete")
            raise DS9Error(f"DS9 could not load {path}: {exc}; is it a FITS image?") from None
        return number

    def image_file(self) -> str:
        """The file shown in the current frame (``""`` when there is no frame or no image)."""
        if not self.frames():
            return ""  # DS9 8.4 leaves "get file" unanswered over SAMP when there is no frame
        return self.get("file")

    def has_celestial_wcs(self) -> bool:
        """Whether the image in the current frame has a celestial WCS DS9 can use."""
        return bool(self.get("pan wcs fk5 degrees").strip())

    def _require_image(self, doing: str) -> None:
        if not self.frames():
            raise DS9Error(f"DS9 has no frame and no image: open an image before {doing}")
        if not self.image_file():
            raise DS9Error(f"no image in DS9 frame {self.current_frame()}: open one before {doing}")

    def _require_wcs(self, doing: str) -> None:
        self._require_image(doing)
        if not self.has_celestial_wcs():
            raise DS9Error(
                f"the image in DS9 frame {self.current_frame()} ({self.image_file()}) has no "
                f"celestial WCS, so {doing} at RA/Dec is impossible; use an image with a sky WCS"
            )

    # -- regions ----------------------------------------------------------------------------

    def load_regions(
        self, regions: str | os.PathLike | pd.DataFrame, **format_options: Any
    ) -> None:
        """Draw regions on the current frame.

        Parameters
        ----------
        regions : path, str or pandas.DataFrame
            A region file, region text, or a table (turned into region text by
            :func:`xrbid.regions.format_regions` with ``format_options``, e.g.
            ``radius_column="pu_2sigma", label_column="source_id"``).
        **format_options
            Passed to :func:`~xrbid.regions.format_regions` for a table.

        Raises
        ------
        DS9Error
            No image in the frame, or DS9 rejects the regions (its message is included).

        Examples
        --------
        >>> ds9.load_regions("m101_2sig.reg")  # doctest: +SKIP
        >>> ds9.load_regions(table, radius=2.0, label_column="source_id")  # doctest: +SKIP
        """
        source, text = _region_text(regions, format_options)
        self._require_image("drawing regions")
        try:
            self.set("regions", text, timeout=max(self.timeout, 60.0))
        except _DS9CommandError as exc:
            raise DS9Error(f"DS9 rejected the regions of {source}: {exc}") from None

    def regions(self, system: Literal["fk5", "icrs", "image"] = "fk5") -> pd.DataFrame:
        """The regions drawn on the current frame now, as a table (see
        :func:`xrbid.regions.parse_regions`), including what the user added, moved or deleted.

        Parameters
        ----------
        system : {"fk5", "icrs", "image"}
            Coordinates DS9 reports: sky (degrees, arcsec sizes) or image pixels.

        Examples
        --------
        >>> ds9.regions()[["ra", "dec", "radius", "label"]]  # doctest: +SKIP
        """
        return self._read_regions(system, selected=False)

    def selected_regions(self, system: Literal["fk5", "icrs", "image"] = "fk5") -> pd.DataFrame:
        """The regions the user has selected on the current frame (see :meth:`regions`)."""
        return self._read_regions(system, selected=True)

    def _read_regions(self, system: str, selected: bool) -> pd.DataFrame:
        from .regions import parse_regions

        if system in ("fk5", "icrs"):
            coords = f"-system wcs -sky {system} -skyformat degrees"
        elif system == "image":
            coords = "-system image"
        else:
            raise InputError(f"unknown region system {system!r}; use fk5, icrs or image")
        which = "selected " if selected else ""
        text = self.get(f"regions {which}-format ds9 {coords}", timeout=max(self.timeout, 60.0))
        return parse_regions(text, source=f"DS9 {self.target.name} frame {self.current_frame()}")

    def delete_regions(self) -> None:
        """Delete every region of the current frame."""
        self.set("regions delete all")

    # -- view -------------------------------------------------------------------------------

    def pan_to(self, ra: float, dec: float) -> None:
        """Centre the current frame on (``ra``, ``dec``), degrees (FK5/ICRS).

        Raises
        ------
        DS9Error
            The image has no celestial WCS.
        """
        ra, dec = _check_sky(ra, dec)
        self._require_wcs("panning")
        self.set(f"pan to {ra:.10f} {dec:.10f} wcs fk5")

    def pan_position(self) -> tuple[float, float]:
        """(RA, Dec) in degrees of the centre of the current frame."""
        self._require_wcs("reading the pan position")
        return _two_floats(self.get("pan wcs fk5 degrees"), "pan position")

    def zoom(self, level: float | Literal["fit"]) -> None:
        """Zoom the current frame to ``level`` (1 = one image pixel per screen pixel) or
        ``"fit"`` (the whole image in the frame)."""
        if level == "fit":
            self.set("zoom to fit")
            return
        try:
            value = float(level)
        except (TypeError, ValueError):
            raise InputError(f"zoom must be a positive number or 'fit', not {level!r}") from None
        if not (value > 0 and math.isfinite(value)):
            raise InputError(f"zoom must be a positive number or 'fit', not {level!r}")
        self.set(f"zoom to {value:.6g}")

    def zoom_level(self) -> float:
        """The zoom factor of the current frame."""
        return float(self.get("zoom").split()[0])

    def crosshair(self, ra: float, dec: float) -> None:
        """Switch DS9 to crosshair mode and put the crosshair on (``ra``, ``dec``), degrees."""
        ra, dec = _check_sky(ra, dec)
        self._require_wcs("placing the crosshair")
        self.set("mode crosshair")
        self.set(f"crosshair {ra:.10f} {dec:.10f} wcs fk5")

    def crosshair_position(self) -> tuple[float, float] | None:
        """(RA, Dec) of the crosshair in degrees, or None when DS9 is not in crosshair mode."""
        if self.get("mode").strip() != "crosshair":
            return None
        self._require_wcs("reading the crosshair")
        return _two_floats(self.get("crosshair wcs fk5 degrees"), "crosshair position")

    def edit_mode(self) -> None:
        """Leave crosshair mode: mouse clicks select and edit regions again."""
        self.set("mode region")

    # -- frames -----------------------------------------------------------------------------

    def frames(self) -> list[int]:
        """The frame numbers that exist, in order."""
        return [int(v) for v in self.get("frame all").split()]

    def current_frame(self) -> int:
        """The number of the current frame (0 when there is none)."""
        text = self.get("frame").strip()
        return int(text) if text else 0

    def frame(self, number: int) -> None:
        """Make frame ``number`` current."""
        if int(number) not in self.frames():
            raise InputError(f"DS9 has no frame {number}; frames: {self.frames()}")
        self.set(f"frame {int(number)}")

    def delete_frames(self) -> None:
        """Delete every frame (a clean DS9)."""
        self.set("frame delete all")

    def tile(self, mode: Literal["grid", "column", "row"] | bool = "grid") -> None:
        """Show all frames side by side (``grid``, ``column``, ``row``); ``False`` for one."""
        if mode is False:
            self.set("tile no")
            return
        if mode is True:
            mode = "grid"
        if mode not in ("grid", "column", "row"):
            raise InputError(f"tile mode must be grid, column or row, not {mode!r}")
        self.set(f"tile mode {mode}")
        self.set("tile yes")

    def tile_state(self) -> str | None:
        """The tile mode when frames are tiled, else None."""
        if self.get("tile").strip() != "yes":
            return None
        return self.get("tile mode").strip()

    def blink(self, interval: float | None = 0.5) -> None:
        """Blink the frames every ``interval`` seconds; ``None`` stops (one frame shown)."""
        if interval is None:
            self.set("single")
            return
        if not (float(interval) > 0 and math.isfinite(float(interval))):
            raise InputError(
                f"blink interval must be a positive number of seconds, not {interval!r}"
            )
        self.set(f"blink interval {float(interval):g}")
        self.set("blink yes")

    def blink_state(self) -> float | None:
        """The blink interval in seconds while blinking, else None."""
        if self.get("blink").strip() != "yes":
            return None
        return float(self.get("blink interval"))

    def match_frames(self, system: Literal["wcs", "image"] = "wcs") -> None:
        """Match every frame to the current one on ``system`` and keep them locked so."""
        if system not in ("wcs", "image"):
            raise InputError(f"match system must be wcs or image, not {system!r}")
        if system == "wcs":
            self._require_wcs("matching frames on WCS")
        self.set(f"match frame {system}")
        self.set(f"lock frame {system}")
        self.set(f"lock crosshair {system}")

    def scale(
        self,
        function: str | None = None,
        limits: str | float | tuple[float, float] | None = None,
    ) -> None:
        """Set the colour scale of the current frame.

        Parameters
        ----------
        function : {"linear", "log", "pow", "sqrt", "squared", "asinh", "sinh", "histequ"}, optional
        limits : {"minmax", "zscale", "zmax"}, float or (low, high), optional
            A named mode, a percentile clip (``99.5``), or explicit limits.
        """
        functions = ("linear", "log", "pow", "sqrt", "squared", "asinh", "sinh", "histequ")
        if function is not None:
            if function not in functions:
                raise InputError(f"scale must be one of {', '.join(functions)}, not {function!r}")
            self.set(f"scale {function}")
        if limits is None:
            return
        if isinstance(limits, str):
            if limits not in ("minmax", "zscale", "zmax"):
                raise InputError(
                    f"scale limits must be minmax, zscale, zmax, a percentile or "
                    f"(low, high), not {limits!r}"
                )
            self.set(f"scale mode {limits}")
        elif isinstance(limits, tuple | list):
            low, high = (float(v) for v in limits)
            if not (math.isfinite(low) and math.isfinite(high) and low < high):
                raise InputError(f"scale limits must be finite with low < high, not {limits!r}")
            self.set(f"scale limits {low:.8g} {high:.8g}")
        else:
            pct = float(limits)
            if not 0 < pct <= 100:
                raise InputError(f"scale percentile must be in (0, 100], not {limits!r}")
            self.set(f"scale mode {pct:g}")

    def view_size(self, width: int, height: int) -> None:
        """Set the size of DS9's image area in screen pixels (what :meth:`snapshot` saves)."""
        self.set(f"width {int(width)}")
        self.set(f"height {int(height)}")

    # -- pictures ---------------------------------------------------------------------------

    def snapshot(self, png_path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Save what DS9 shows (image, regions, crosshair, colour bar) as a PNG.

        Uses DS9's own rendering (``saveimage png``). Debian's DS9 does not load the Tk image
        format it needs for that, so the ``img::window`` Tcl package is loaded into DS9 first.

        Raises
        ------
        OutputExistsError
            ``png_path`` exists and ``overwrite`` is false.

        Examples
        --------
        >>> ds9.snapshot("m101_regions.png")  # doctest: +SKIP
        PosixPath('m101_regions.png')
        """
        path = check_output(png_path, overwrite)
        self._require_image("saving a snapshot")
        self._load_window_format()
        with atomic_output(path, overwrite) as tmp:
            tmp_path = _safe_path(tmp.resolve(), must_exist=False)
            try:
                self.set(f"saveimage png {{{tmp_path}}}", timeout=max(self.timeout, 30.0))
            except _DS9CommandError as exc:
                raise DS9Error(f"DS9 could not save {path}: {exc}") from None
            if tmp.stat().st_size == 0:
                raise DS9Error(f"DS9 wrote an empty picture for {path}; is its window visible?")
        return path

    def _load_window_format(self) -> None:
        if self._imgwin_loaded:
            return
        with tempfile.TemporaryDirectory(prefix="xrbid-ds9-") as folder:
            script = Path(folder) / "window_format.tcl"
            script.write_text("catch {package require img::window}\n", encoding="utf-8")
            self.set(f"source {{{script}}}")
        self._imgwin_loaded = True


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _safe_path(path: str | os.PathLike, *, must_exist: bool) -> Path:
    p = Path(path).expanduser()
    if must_exist and not p.exists():
        raise InputError(f"{p}: no such file; check the path")
    if must_exist and p.is_dir():
        raise InputError(f"{p}: is a folder, expected a FITS image")
    p = p.resolve()
    if _UNSAFE_PATH_RE.search(str(p)):
        raise InputError(
            f"{str(p)!r}: DS9 cannot take a path with braces or control characters; "
            "rename or copy the file"
        )
    return p


def _region_text(regions: Any, format_options: dict[str, Any]) -> tuple[str, str]:
    from .regions import format_regions

    if isinstance(regions, pd.DataFrame):
        return "the table", format_regions(regions, **format_options)
    if format_options:
        raise InputError("format options apply to a table; a region file is sent as it is")
    looks_like_path = (
        isinstance(regions, str)
        and "\n" not in regions
        and "(" not in regions
        and (Path(regions).is_file() or Path(regions).suffix.lower() in (".reg", ".ds9"))
    )
    if isinstance(regions, os.PathLike) or looks_like_path:
        path = Path(regions)
        try:
            return str(path), path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            raise InputError(f"{path}: no such region file; check the path") from None
        except IsADirectoryError:
            raise InputError(f"{path}: is a folder, expected a region file") from None
    if isinstance(regions, str):
        return "the region text", regions
    raise InputError(
        f"regions must be a region file, region text or a table, not {type(regions).__name__}"
    )


def _check_sky(ra: float, dec: float) -> tuple[float, float]:
    try:
        ra, dec = float(ra), float(dec)
    except (TypeError, ValueError):
        raise InputError(f"RA/Dec must be numbers in degrees, not {ra!r}, {dec!r}") from None
    if not (math.isfinite(ra) and math.isfinite(dec)) or abs(dec) > 90:
        raise InputError(f"RA/Dec ({ra}, {dec}) is not a sky position in degrees")
    return ra % 360.0, dec


def _two_floats(text: str, what: str) -> tuple[float, float]:
    parts = text.split()
    try:
        return float(parts[0]), float(parts[1])
    except (IndexError, ValueError):
        raise DS9Error(f"DS9 answered {text!r} for the {what}; expected two numbers") from None


# --------------------------------------------------------------------------------------------
# workflows: calibrators, before/after blinking, postage stamps
# --------------------------------------------------------------------------------------------

CANDIDATE_COLOR = "cyan"
KEEP_COLOR = "red"
Mark = Literal["color", "selected", "delete"]


def draw_calibrators(
    ds9: DS9,
    candidates: pd.DataFrame,
    *,
    radius: float = 2.0,
    color: str = CANDIDATE_COLOR,
) -> None:
    """Draw the candidate calibrators as labelled circles tagged :data:`CALIBRATOR_TAG`.

    Parameters
    ----------
    ds9 : DS9
        The session (an image with a sky WCS in the current frame).
    candidates : pandas.DataFrame
        One row per source: ``source_id``, ``ra``, ``dec`` (degrees).
    radius : float
        Circle radius in arcsec.
    color : str
        Colour of the candidates (a kept calibrator is recoloured by the user).
    """
    _unique_ids(candidates)
    ds9.load_regions(
        candidates,
        radius=radius,
        label_column="source_id",
        color=color,
        width=2,
        tag=CALIBRATOR_TAG,
        on_bad_label="replace",
    )


def step_through(
    ds9: DS9, candidates: pd.DataFrame, *, zoom: float | None = 4.0
) -> Iterator[tuple[int, pd.Series]]:
    """Visit each candidate in turn: pan to it, zoom, put the crosshair on it.

    A generator: it moves DS9 to the next candidate each time it is advanced, so the caller
    can wait for the user in between. The crosshair mode is left at the end, so that clicks
    select regions again.

    Yields
    ------
    (int, pandas.Series)
        The position in the table and the row.
    """
    try:
        for i, (_, row) in enumerate(candidates.iterrows()):
            ds9.pan_to(row["ra"], row["dec"])
            if zoom is not None:
                ds9.zoom(zoom)
            ds9.crosshair(row["ra"], row["dec"])
            yield i, row
    finally:
        try:
            ds9.edit_mode()
        except DS9Error:
            pass


def picked_calibrators(
    ds9: DS9,
    candidates: pd.DataFrame,
    *,
    mark: Mark = "color",
    keep_color: str = KEEP_COLOR,
) -> pd.DataFrame:
    """The candidate calibrators the user kept, read back from DS9's regions.

    Parameters
    ----------
    ds9 : DS9
        The session whose current frame holds the regions of :func:`draw_calibrators`.
    candidates : pandas.DataFrame
        The table that was drawn (``source_id``, ``ra``, ``dec``).
    mark : {"color", "selected", "delete"}
        How the user marked them: recoloured to ``keep_color`` (Region > Color), selected
        (click, shift-click), or the others deleted.
    keep_color : str
        The colour that means "keep" with ``mark="color"``.

    Returns
    -------
    pandas.DataFrame
        The kept rows of ``candidates`` in table order, with ``ds9_ra``/``ds9_dec``: where the
        region is now (the user may have moved it onto the optical source).

    Raises
    ------
    InputError
        Unknown ``mark``.
    DS9Error
        None of the candidate regions is left in DS9 (another image or frame is shown).
    """
    from .regions import escape_label

    if mark not in ("color", "selected", "delete"):
        raise InputError(f"mark must be color, selected or delete, not {mark!r}")
    ids = _unique_ids(candidates)
    drawn = ds9.selected_regions() if mark == "selected" else ds9.regions()
    if mark != "selected":
        everything = drawn
    else:
        everything = ds9.regions()
    tagged = _tagged(everything)
    if mark != "delete" and len(tagged) == 0:
        raise DS9Error(
            f"no candidate calibrators (tag {CALIBRATOR_TAG}) are drawn in DS9 frame "
            f"{ds9.current_frame()}; draw them first (xrbid ds9 calibrators without --collect)"
        )
    regions = _tagged(drawn)
    if mark == "color":
        colors = regions["color"].fillna("").astype(str).str.lower()
        regions = regions.loc[colors.to_numpy() == keep_color.lower()]
    escaped = pd.Series(ids).map(escape_label)
    lookup = dict(zip(escaped, ids))
    labels = regions["label"].fillna("").astype(str)
    regions = regions.loc[labels.isin(lookup).to_numpy()]
    kept = pd.DataFrame(
        {
            "source_id": regions["label"].astype(str).map(lookup).to_numpy(),
            "ds9_ra": regions["ra"].to_numpy(dtype=float),
            "ds9_dec": regions["dec"].to_numpy(dtype=float),
        }
    ).drop_duplicates("source_id")
    out = candidates.merge(kept, on="source_id", how="inner")
    return out.reset_index(drop=True)


def _tagged(regions: pd.DataFrame) -> pd.DataFrame:
    if len(regions) == 0 or "tag" not in regions.columns:
        return regions.iloc[0:0]
    tags = regions["tag"].fillna("").astype(str)
    return regions.loc[tags.str.contains(CALIBRATOR_TAG, regex=False).to_numpy()]


def _unique_ids(candidates: pd.DataFrame) -> list[str]:
    from .tables import require_columns

    require_columns(candidates, ["source_id", "ra", "dec"], what="calibrator candidates")
    ids = candidates["source_id"].astype(str)
    if ids.duplicated().any():
        dup = ids[ids.duplicated()].iloc[0]
        raise InputError(
            f"source {dup!r} appears more than once; keep one row per source first "
            "(xrbid csc unique)"
        )
    return ids.tolist()


def blink_before_after(
    ds9: DS9,
    image: str | os.PathLike,
    before: str | os.PathLike | pd.DataFrame,
    after: str | os.PathLike | pd.DataFrame,
    *,
    interval: float = 0.5,
    crosshair: tuple[float, float] | None = None,
) -> tuple[int, int]:
    """Show ``image`` twice, with the positions before and after a correction, and blink.

    Two new frames hold the same image, one with the ``before`` regions and one with the
    ``after`` regions; they are matched and locked on WCS (crosshair included), so DS9 flips
    between the two sets of positions over a fixed sky.

    Returns
    -------
    (int, int)
        The frame numbers of the before and the after frame.
    """
    first = ds9.open_image(image, frame="new")
    ds9.load_regions(before)
    second = ds9.open_image(image, frame="new")
    ds9.load_regions(after)
    ds9.match_frames("wcs")
    if crosshair is not None:
        ds9.crosshair(*crosshair)
    ds9.blink(interval)
    return first, second


def _stamp_name(source_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+\-]+", "_", str(source_id)).strip("_") or "source"


def postage_stamps(
    ds9: DS9,
    table: pd.DataFrame,
    image: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    size: float = 10.0,
    pixels: int = 300,
    overwrite: bool = False,
) -> list[Path]:
    """Save one PNG per source, centred on it, with its 1σ and 2σ circles, rendered by DS9.

    Parameters
    ----------
    ds9 : DS9
        The session.
    table : pandas.DataFrame
        ``source_id``, ``ra``, ``dec``, ``pu_1sigma``, ``pu_2sigma`` (arcsec).
    image : path
        The FITS image (with a sky WCS).
    out_dir : path
        Folder for the PNGs (created if missing); one ``<source_id>.png`` per source, with
        characters other than letters, digits, ``.``, ``+``, ``-`` replaced by ``_``.
    size : float
        Width of each stamp on the sky, arcsec.
    pixels : int
        Width and height of each PNG's image area, screen pixels.
    overwrite : bool
        Replace stamps that exist.

    Returns
    -------
    list of pathlib.Path
        The PNGs, in table order; sources that fall off the image get none.

    Raises
    ------
    InputError
        Missing columns, duplicate IDs, existing stamps without ``overwrite``, or no source
        on the image.
    """
    from astropy.wcs.utils import proj_plane_pixel_scales

    from .regions import format_regions
    from .tables import require_columns

    require_columns(
        table, ["source_id", "ra", "dec", "pu_1sigma", "pu_2sigma"], what="postage stamps"
    )
    ids = _unique_ids(table)
    if not size > 0:
        raise InputError(f"stamp size must be positive, not {size!r}")
    out = Path(out_dir)
    names = [_stamp_name(i) for i in ids]
    if len(set(names)) != len(names):
        raise InputError("two source IDs give the same file name; make the IDs distinct")
    paths = [out / f"{name}.png" for name in names]
    if not overwrite:
        for p in paths:
            if p.exists():
                raise InputError(f"{p} exists; pass --overwrite (overwrite=True) to replace it")
    out.mkdir(parents=True, exist_ok=True)
    one = format_regions(table, radius_column="pu_1sigma", color="green", width=2)
    two = format_regions(
        table,
        radius_column="pu_2sigma",
        color="magenta",
        width=2,
        dash=True,
        label_column="source_id",
        on_bad_label="replace",
    )
    ds9.open_image(image, frame="new")
    ds9._require_wcs("postage stamps")
    wcs, shape = _frame_wcs(ds9)
    x, y = wcs.world_to_pixel_values(table["ra"].to_numpy(float), table["dec"].to_numpy(float))
    inside = (x > -0.5) & (x < shape[1] - 0.5) & (y > -0.5) & (y < shape[0] - 0.5)
    if not inside.any():
        raise InputError(
            f"none of the {len(table)} sources falls on {image}; is it the image of this field?"
        )
    table = table.loc[inside].reset_index(drop=True)
    paths = [p for p, keep in zip(paths, inside) if keep]
    scale = float(np.mean(proj_plane_pixel_scales(wcs))) * 3600.0
    ds9.set("colorbar no")
    ds9.view_size(pixels, pixels)
    ds9.scale(limits=99.5)
    ds9.load_regions(one)
    ds9.load_regions(two)
    ds9.zoom(pixels / (size / scale))
    for path, (_, row) in zip(paths, table.iterrows()):
        ds9.pan_to(row["ra"], row["dec"])
        ds9.snapshot(path, overwrite=overwrite)
    ds9.set("colorbar yes")
    return paths


def _frame_wcs(ds9: DS9):
    """The celestial WCS and the (rows, columns) shape of the image in the current frame, from
    the header DS9 shows."""
    from astropy.io import fits
    from astropy.wcs import WCS

    header = fits.Header.fromstring(ds9.get("fits header"), sep="\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. non-standard keywords of old HST headers
        wcs = WCS(header).celestial
    shape = (int(ds9.get("fits height")), int(ds9.get("fits width")))
    return wcs, shape
