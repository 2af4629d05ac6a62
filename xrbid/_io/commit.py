"""Putting staged temporary files in place under their names: all of them, or none.

A new output is linked into place (``os.link`` fails if the name appeared meanwhile, so two
processes racing for one new name cannot both win); an existing one, with ``overwrite``, is
replaced in one rename after a second name (hard link) of the old file is kept, so that it can
be put back if a later output of the same commit fails.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ..errors import OutputExistsError
from .cleanup import block_signals, remove, track, unblock_signals, untrack
from .paths import check_output, file_kind
from .write_errors import write_error

# errors of os.link that mean "this file system has no hard links", not a failure to report
_NO_LINK = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EXDEV, errno.EMLINK}


@dataclass
class Staged:
    """A temporary file ``tmp`` written for the output ``path``."""

    tmp: str
    path: Path
    overwrite: bool


def _link_new(tmp: str, path: Path) -> None:
    """Put ``tmp`` in place under the new name ``path``; FileExistsError if the name exists."""
    try:
        os.link(tmp, path)
    except OSError as exc:
        if exc.errno not in _NO_LINK or isinstance(exc, FileExistsError):
            raise
        # no hard links on this file system: reserve the name exclusively, then rename over it
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        os.replace(tmp, path)
        return
    os.unlink(tmp)


def commit(entries: list[Staged]) -> None:
    """Put every staged file in place, or (on any failure) none of them."""
    done: list[tuple[Path, str | None]] = []  # (output, backup of the old file or None)
    blocked = block_signals()
    try:
        try:
            for e in entries:
                st = _lstat(e.path)
                if st is not None and (stat.S_ISLNK(st.st_mode) or file_kind(st.st_mode)):
                    check_output(e.path, e.overwrite)  # raises: it changed since the check
                if st is None:
                    try:
                        _link_new(e.tmp, e.path)
                        done.append((e.path, None))
                        continue
                    except FileExistsError:
                        st = True
                if not e.overwrite:  # it did not exist when the write began
                    raise OutputExistsError(
                        f"{e.path} was created by another process while this one was writing "
                        "it; use --overwrite to replace it"
                    )
                backup = _backup(e.path)
                os.replace(e.tmp, e.path)
                done.append((e.path, backup))
        except OSError as exc:
            _roll_back(done)
            failed = next((e.path for e in entries if e.path not in {d for d, _ in done}), None)
            err = write_error(exc, failed or entries[0].path)
            if err is None:
                raise
            raise err from None
        except BaseException:
            _roll_back(done)
            raise
        for _, backup in done:
            if backup is not None:
                remove(backup)
    finally:
        for e in entries:
            remove(e.tmp)
        unblock_signals(blocked)


def _lstat(path: Path) -> os.stat_result | None:
    """``os.lstat(path)``, or None when there is no such file."""
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def _backup(path: Path) -> str | None:
    """A second name (hard link) of the old output, to put it back if a later output fails."""
    stem = os.fsencode(path.name)[:80].decode("utf-8", "ignore")
    name = f"{path.parent}/.{stem}.{os.getpid()}.old"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name)
    try:
        os.link(path, name)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno in _NO_LINK:
            return None  # cannot keep the old file aside; it is replaced without a way back
        raise
    track(name)
    return name


def _roll_back(done: list[tuple[Path, str | None]]) -> None:
    """Undo a commit: remove the new outputs, put the old files back."""
    for path, backup in reversed(done):
        with contextlib.suppress(OSError):
            if backup is None:
                os.unlink(path)
            else:
                os.replace(backup, path)
                untrack(backup)
