"""The SAMP transport (pyvo.samp): DS9 answers the ``ds9.get`` / ``ds9.set`` message types."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
import warnings
from pathlib import Path
from urllib.parse import unquote, urlparse

from ..errors import DS9Error, InputError
from ._common import _START_HINT, DS9Target, _DS9CommandError, _with_timeout


def _hub_gone(what: str, exc: Exception | None = None) -> str:
    why = f" ({exc})" if exc is not None else ""
    return (
        f"the SAMP hub stopped answering during {what}{why}: it was closed or killed; start "
        "it again, then connect DS9 to it (File > SAMP > Connect), or use XPA (--transport xpa)"
    )


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
        self.silent: list[str] = []  # DS9 clients that did not answer the last listing
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
        deadline = time.monotonic() + timeout
        try:
            try:
                _with_timeout(
                    lambda: self.client.ecall(client_id, tag, mtype, **params), timeout, what
                )
            except DS9Error:
                raise self._hub_or_ds9(what, timeout) from None
            # wait for the answer in slices, so that a hub that dies meanwhile is named at once
            while not answered.wait(min(0.25, max(0.0, deadline - time.monotonic()))):
                if not self.hub_alive():
                    raise DS9Error(_hub_gone(what))
                if time.monotonic() >= deadline:
                    raise self._hub_or_ds9(what, timeout)
        except (SAMPProxyError, xmlrpc.client.Fault) as exc:
            raise DS9Error(
                f"the SAMP hub refused {what} ({exc}); is DS9 still connected?"
            ) from None
        except OSError as exc:
            raise DS9Error(_hub_gone(what, exc)) from None
        finally:
            self.client.unbind_receive_response(tag)
        return box["response"]

    def hub_address(self) -> tuple[str, int] | None:
        """(host, port) of the hub's XML-RPC server, from its lock file."""
        url = (self.client.hub.lockfile or {}).get("samp.hub.xmlrpc.url", "")
        parsed = urlparse(str(url).replace("\\", ""))
        if not parsed.hostname or not parsed.port:
            return None
        return parsed.hostname, parsed.port

    def hub_alive(self) -> bool:
        """Whether the hub still accepts connections (a killed hub refuses them at once)."""
        address = self.hub_address()
        if address is None:
            return True  # cannot tell; the time limit decides
        try:
            with socket.create_connection(address, timeout=1.0):
                return True
        except OSError:
            return False

    def _hub_or_ds9(self, what: str, timeout: float) -> DS9Error:
        """The error for a message without an answer: the hub died, or DS9 did not answer."""
        if not self.hub_alive():
            return DS9Error(_hub_gone(what))
        return DS9Error(
            f"DS9 did not answer {what} within {timeout:g} s: it is frozen, busy or was "
            "killed; check the DS9 window, then connect again (or raise the timeout)"
        )

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

        silent: list[str] = []
        self.silent = silent

        def ask(cid: str) -> None:
            try:
                reply = self.call(cid, "ds9.get", probe, cmd="version")
            except DS9Error:
                silent.append(cid)  # registered but not answering
                return
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
        # DS9 8.4 reads a SAMP message with a character beyond ASCII (a file named 'ü.fits')
        # and then stops answering anything, for good: such a command is never sent
        wide = next((char for char in params["cmd"] if ord(char) > 127), None)
        if wide is not None:
            raise InputError(
                f"{params['cmd']!r} has the character {wide!r}, which DS9 cannot receive over "
                "SAMP (it stops answering); use XPA (--transport xpa), or a name without it"
            )
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
