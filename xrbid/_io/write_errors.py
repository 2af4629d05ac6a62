"""Failures of the file system while writing, as one line that names the file and the fix."""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

from ..errors import OutputError

# errors of the file system while writing that are the user's environment, not a bug
WRITE_ERRNOS = {
    errno.ENOSPC: "free some space or write to another disk",
    errno.EDQUOT: "free some space or write to another disk",
    errno.EFBIG: "the file is larger than the system allows here; write it elsewhere",
    errno.EROFS: "write to a folder on a writable disk",
    errno.EACCES: "write to a folder you may write to",
    errno.EPERM: "write to a folder you may write to",
    errno.ENAMETOOLONG: "choose a shorter name",
    errno.EIO: "check the disk",
    errno.ENOTDIR: "check the folder part of the path",
}


def message(code: int, path: Path, detail: str | None = None) -> str:
    """``<strerror> writing <path> (<detail>); <what to do>``."""
    hint = WRITE_ERRNOS.get(code, "check the disk and the folder")
    extra = f" ({detail})" if detail else ""
    return f"{os.strerror(code)} writing {path}{extra}; {hint}"


def errno_of(exc: OSError) -> int | None:
    """The errno of a failed write, also when a library kept it only in the message."""
    if exc.errno:
        return exc.errno
    m = re.search(r"errno[\s:=]*(\d+)", str(exc), re.IGNORECASE)
    return int(m.group(1)) if m else None


def write_error(exc: OSError, path: Path) -> OutputError | None:
    """The one-line `OutputError` of a failure of the user's file system, else None (a bug)."""
    code = errno_of(exc)
    if code in WRITE_ERRNOS:
        return OutputError(message(code, path))
    return None


def read_only(folder: Path) -> bool:
    """Whether ``folder`` is on a file system mounted read-only."""
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False
