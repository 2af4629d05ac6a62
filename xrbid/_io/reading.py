"""Failures of reading an input, as one line that says what is wrong and what to do."""

from __future__ import annotations

import contextlib
import errno
import os
import re
from collections.abc import Iterator
from pathlib import Path

from ..errors import InputError

__all__ = ["input_error", "reading"]


@contextlib.contextmanager
def reading(path: str | os.PathLike, what: str = "file") -> Iterator[Path]:
    """Turn the failures of reading an input into one-line `~xrbid.errors.InputError`.

    A folder, a missing or unreadable file, bytes that are not text, a FITS header that does
    not verify, broken parquet metadata: each becomes ``<path>: <what is wrong>; <fix>``.
    Other exceptions (bugs) pass unchanged.

    Parameters
    ----------
    path : str or os.PathLike
        The input being read.
    what : str
        What the file should be, for the message ("table", "FITS image", ...).
    """
    path = Path(path)
    if _is_dir(path):
        raise InputError(f"{path} is a folder; give the {what} file inside it")
    try:
        yield path
    except InputError:
        raise
    except Exception as exc:  # only the kinds input_error knows are converted
        err = input_error(exc, path, what)
        if err is None:
            raise
        raise err from exc


def input_error(
    exc: BaseException, path: Path | str | None, what: str = "file"
) -> InputError | None:
    """The one-line `InputError` for an expected failure of reading ``path``, else None."""
    where = f"{path}: " if path is not None else ""
    if isinstance(exc, IsADirectoryError):
        return InputError(f"{exc.filename or path} is a folder; give the {what} file inside it")
    if isinstance(exc, FileNotFoundError):
        return InputError(f"{exc.filename or path}: no such file; check the path")
    if isinstance(exc, PermissionError):
        return InputError(
            f"{exc.filename or path}: permission denied; check the file's permissions "
            f"(chmod u+r {exc.filename or path})"
        )
    name = type(exc).__name__
    module = type(exc).__module__ or ""
    if name == "VerifyError" and module.startswith("astropy"):
        m = re.search(r"card \(([^)]*)\)", str(exc), re.IGNORECASE)
        card = f"header card {m.group(1)}" if m else "a header card"
        return InputError(
            f"{where}the FITS {card} cannot be parsed (its value is not a valid FITS number, "
            "string or logical); correct it, e.g. with astropy.io.fits or fitsverify, and retry"
        )
    if name == "YamlParseError" or (module.startswith("yaml") and "Error" in name):
        return InputError(
            f"{where}the table's metadata (YAML header) is broken; rewrite the file from its "
            "source, or export it without metadata (e.g. as CSV)"
        )
    if module.startswith("pyarrow") and name in ("ArrowInvalid", "ArrowTypeError", "ArrowKeyError"):
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else name
        return InputError(f"{where}unreadable {what} ({detail}); rewrite it from its source")
    if isinstance(exc, UnicodeDecodeError):
        return InputError(
            f"{where}not a text file in UTF-8 (byte {exc.start}); is it the right file?"
        )
    if isinstance(exc, OSError) and exc.errno in (errno.EIO, errno.ENXIO, errno.EISDIR):
        return InputError(f"{where}{os.strerror(exc.errno)}; check the file")
    return None


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False
