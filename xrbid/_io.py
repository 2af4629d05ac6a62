"""Safe output files: atomic writes that never overwrite without permission."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import InputError, OutputExistsError

__all__ = ["atomic_output", "check_output", "write_text_atomic"]


def check_output(path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Check that ``path`` may be written; return it as a `~pathlib.Path`.

    Raises
    ------
    OutputExistsError
        If the file exists and ``overwrite`` is false.
    InputError
        If the folder it would go into does not exist.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(
            f"{path} exists; use --overwrite (overwrite=True in Python) to replace it"
        )
    if not path.parent.exists():
        raise InputError(f"cannot write {path}: folder {path.parent} does not exist")
    return path


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path in the same folder as ``path``; rename it into place on success.

    If the body raises, the temporary file is removed and ``path`` is untouched, so a failed
    write never leaves a partial output behind.

    Examples
    --------
    >>> with atomic_output("out.csv", overwrite=True) as tmp:  # doctest: +SKIP
    ...     df.to_csv(tmp)
    """
    path = check_output(path, overwrite)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; outputs get normal permissions
    try:
        yield tmp
        if path.exists() and not overwrite:  # appeared while we were writing
            raise OutputExistsError(
                f"{path} exists; use --overwrite (overwrite=True in Python) to replace it"
            )
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | os.PathLike, text: str, overwrite: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8); return the path."""
    with atomic_output(path, overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
