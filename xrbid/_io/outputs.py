"""The writers: one atomic output, several committed together, a text file.

Each output is written to a temporary file beside it (`~xrbid._io.cleanup`), then put in place
by `~xrbid._io.commit`; inside `output_transaction` the commits of all outputs wait for the end
of the block and happen together.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import OutputError
from .cleanup import new_temp, remove
from .commit import Staged, commit
from .paths import check_output, same_file
from .write_errors import write_error

__all__ = ["atomic_output", "output_transaction", "write_text_atomic"]


@dataclass
class _Transaction:
    staged: list[Staged] = field(default_factory=list)


_TRANSACTION: contextvars.ContextVar[_Transaction | None] = contextvars.ContextVar(
    "xrbid_output_transaction", default=None
)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path in the same folder as ``path``; commit it on success.

    The temporary file is created empty; the body writes it. If the body raises, the temporary
    file is removed and ``path`` is untouched, so a failed write never leaves a partial output.
    A new output is linked into place (it fails if the name appeared meanwhile); with
    ``overwrite`` the old file is replaced in one rename. Inside :func:`output_transaction` the
    file is committed with the transaction's other outputs instead.

    Raises
    ------
    OutputExistsError, OutputError, InputError
        See :func:`check_output`; `OutputError` also for a write that fails for lack of space,
        permission or a too-long name (one line naming the file).

    Examples
    --------
    >>> with atomic_output("out.csv", overwrite=True) as tmp:  # doctest: +SKIP
    ...     df.to_csv(tmp)
    """
    path = check_output(path, overwrite)
    txn = _TRANSACTION.get()
    if txn is not None and any(same_file(s.path, path) for s in txn.staged):
        raise OutputError(f"{path} is written twice by this command; give each output its own name")
    tmp: str | None = None
    kept = False
    try:
        tmp = new_temp(path)
        entry = Staged(tmp, path, overwrite)
        try:
            yield Path(tmp)
        except OSError as exc:
            err = write_error(exc, path)
            if err is None:
                raise
            raise err from None
        if txn is not None:
            txn.staged.append(entry)
            kept = True
        else:
            commit([entry])
    finally:
        if tmp is not None and not kept:
            remove(tmp)


@contextlib.contextmanager
def output_transaction(
    outputs: Iterable[str | os.PathLike | None] = (), overwrite: bool = False
) -> Iterator[None]:
    """Commit every output written inside the block together, or none of them.

    Parameters
    ----------
    outputs : iterable of path or None
        The outputs the block will write (None entries are skipped). They are checked up front
        (:func:`check_output`), and two of them naming the same file are refused, before any
        work is done.
    overwrite : bool
        Allow replacing existing outputs.

    Raises
    ------
    OutputError
        If two outputs name the same file, or a commit fails for a reason of the file system;
        outputs already replaced are then put back and new ones removed.
    OutputExistsError
        If an output exists (or appears while writing) and ``overwrite`` is false.

    Notes
    -----
    Writers inside the block use :func:`atomic_output` as usual; their temporary files are kept
    until the block ends. A transaction inside a transaction joins the outer one.

    Examples
    --------
    >>> with output_transaction([json_path, png_path], overwrite=False):  # doctest: +SKIP
    ...     solution.write_json(json_path)
    ...     solution.plot_residuals(png_path)
    """
    paths = [Path(p) for p in outputs if p is not None]
    for k, p in enumerate(paths):
        for q in paths[:k]:
            if same_file(p, q):
                raise OutputError(
                    f"{q} and {p} are the same file; give each output its own name"
                    if str(p) != str(q)
                    else f"{p} is given for two outputs; give each output its own name"
                )
        check_output(p, overwrite)
    if _TRANSACTION.get() is not None:
        yield
        return
    txn = _Transaction()
    token = _TRANSACTION.set(txn)
    try:
        yield
    except BaseException:
        for entry in txn.staged:
            remove(entry.tmp)
        raise
    finally:
        _TRANSACTION.reset(token)
    commit(txn.staged)


def write_text_atomic(path: str | os.PathLike, text: str, overwrite: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8); return the path."""
    with atomic_output(path, overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
