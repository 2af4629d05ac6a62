"""Which output paths may be written: regular files only, never an input of the command.

`check_output` refuses a symbolic link, a FIFO, a device, a socket or a folder under the
output's name (with or without ``overwrite``), an existing file without ``overwrite``, a folder
that cannot be written and a name longer than the file system allows. `guard_paths` names the
files a command was given, so that an output that is also one of its inputs, or another of its
outputs, is refused.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import InputError, OutputError, OutputExistsError
from .write_errors import message, read_only


def file_kind(mode: int) -> str | None:
    """What a non-regular file is, in words (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_output(path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Check that ``path`` may be written; return it as a `~pathlib.Path`.

    Parameters
    ----------
    path : str or os.PathLike
        The output file.
    overwrite : bool
        Allow replacing an existing regular file.

    Raises
    ------
    OutputExistsError
        If the file exists and ``overwrite`` is false.
    OutputError
        If the name is a symbolic link, a FIFO, a device, a socket or a folder (whatever
        ``overwrite`` says), if the folder cannot be written, if the name is longer than the
        file system allows, or if the command line was given the same file as an input or as
        another output (see :func:`guard_paths`).
    InputError
        If the folder it would go into does not exist.
    """
    path = Path(path)
    _check_not_guarded(path)
    parent = path.parent
    if not parent.exists():
        raise InputError(f"cannot write {path}: folder {parent} does not exist")
    if not parent.is_dir():
        raise OutputError(f"cannot write {path}: {parent} is not a folder")
    _check_name_length(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except NotADirectoryError:
        raise OutputError(f"cannot write {path}: a part of its folder is a file") from None
    if st is not None:
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(path)
            raise OutputError(
                f"{path} is a symbolic link (to {target}); outputs are never written through "
                "links: give the target's own path, or another name"
            )
        kind = file_kind(st.st_mode)
        if kind is not None:
            raise OutputError(
                f"{path} is {kind}, not a regular file; outputs are written only to regular "
                "files: choose a file name"
            )
        if not overwrite:
            raise OutputExistsError(
                f"{path} exists; use --overwrite (overwrite=True in Python) to replace it"
            )
    if not os.access(parent, os.W_OK | os.X_OK):
        code = errno.EROFS if read_only(parent) else errno.EACCES
        raise OutputError(message(code, path, f"folder {parent} cannot be written"))
    return path


def _check_name_length(path: Path) -> None:
    try:
        limit = os.pathconf(path.parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        return
    size = len(os.fsencode(path.name))
    if limit and size > limit:
        raise OutputError(
            f"File name too long writing {path}: the name has {size} bytes, the file system "
            f"allows {limit}; choose a shorter name"
        )


def file_key(path: Path) -> tuple:
    """The identity of a file: device and inode when it exists, else its resolved path."""
    try:
        st = os.stat(path)
        return ("inode", st.st_dev, st.st_ino)
    except OSError:
        return ("path", os.path.realpath(os.path.abspath(path)))


def same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file (the same inode, or the same resolved path)."""
    return file_key(a) == file_key(b)


_GUARD: contextvars.ContextVar[dict | None] = contextvars.ContextVar("xrbid_paths", default=None)


@contextlib.contextmanager
def guard_paths(named: Iterable[tuple[str, str | os.PathLike]]) -> Iterator[None]:
    """Within the block, refuse an output that names the same file as two given paths.

    Parameters
    ----------
    named : iterable of (str, path)
        Each path a command was given (inputs and outputs alike) with the option it came with
        (``"-o"``, ``"TABLE"``, ...).

    Raises
    ------
    OutputError
        Up front, if two of them name the same file that does not exist yet (two outputs
        given the same name); later, from :func:`check_output`, if an output names a file that
        is also given under another option (an input, or another output).
    """
    by_key: dict[tuple, list[tuple[str, Path]]] = {}
    for option, value in named:
        p = Path(value)
        with contextlib.suppress(OSError):
            if p.is_dir():
                continue
        by_key.setdefault(file_key(p), []).append((option, p))
    for key, entries in by_key.items():
        if key[0] == "path" and len(entries) > 1:
            raise OutputError(_twice(entries))
    token = _GUARD.set(by_key)
    try:
        yield
    finally:
        _GUARD.reset(token)


def _twice(entries: list[tuple[str, Path]]) -> str:
    options = " and ".join(option for option, _ in entries)
    return (
        f"{options} both name {entries[0][1]}; a command never writes over one of its inputs "
        "or writes two outputs to one file: give the output another name"
    )


def _check_not_guarded(path: Path) -> None:
    by_key = _GUARD.get()
    if not by_key:
        return
    entries = by_key.get(file_key(path), [])
    if len(entries) > 1:
        raise OutputError(_twice(entries))
