"""Temporary files of the writers, removed however the process ends.

Every temporary file is tracked while it exists; SIGTERM and SIGHUP arriving meanwhile remove
the tracked files before the process ends as the signal would have ended it. A handler the
user installed is never replaced. During a commit the two signals are blocked, so that a
commit is not cut in half.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
from pathlib import Path

from .write_errors import write_error

_PENDING: set[str] = set()
_SAVED_HANDLERS: dict[int, object] = {}
_LOCK = threading.Lock()
_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))


def _on_signal(signum: int, frame: object) -> None:
    """Remove the temporary files, then end the process as the signal would have."""
    for name in list(_PENDING):
        with contextlib.suppress(OSError):
            os.unlink(name)
    _PENDING.clear()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def track(name: str) -> None:
    """Remember ``name`` for removal on SIGTERM/SIGHUP (the handlers go in with the first)."""
    with _LOCK:
        if not _PENDING and threading.current_thread() is threading.main_thread():
            for sig in _SIGNALS:
                if signal.getsignal(sig) is signal.SIG_DFL:  # never replace the user's handler
                    _SAVED_HANDLERS[sig] = signal.signal(sig, _on_signal)
        _PENDING.add(name)


def untrack(name: str) -> None:
    """Forget ``name``; with no file left, put the previous signal handlers back."""
    with _LOCK:
        _PENDING.discard(name)
        if not _PENDING and threading.current_thread() is threading.main_thread():
            for sig, handler in _SAVED_HANDLERS.items():
                signal.signal(sig, handler)
            _SAVED_HANDLERS.clear()


def remove(name: str) -> None:
    """Delete the temporary file ``name`` (if still there) and forget it."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name)
    untrack(name)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def new_temp(path: Path) -> str:
    """An empty temporary file beside ``path`` with the permissions of a normal new file."""
    stem = os.fsencode(path.name)[:80].decode("utf-8", "ignore")
    try:
        fd, name = tempfile.mkstemp(prefix=f".{stem}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        err = write_error(exc, path)
        if err is None:
            raise
        raise err from None
    try:
        track(name)
        os.close(fd)
        os.chmod(name, 0o666 & ~_umask())  # mkstemp makes 0600 files
    except BaseException:  # Ctrl-C here must not leave the file behind either
        remove(name)
        raise
    return name


def block_signals() -> set | None:
    """Hold SIGTERM/SIGHUP back (main thread only); return the mask to restore."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)


def unblock_signals(previous: set | None) -> None:
    """Restore the signal mask `block_signals` returned (held signals arrive now)."""
    if previous is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
