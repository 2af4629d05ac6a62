"""Safe output files: atomic, no-clobber, all-or-nothing writes that never touch an input.

Every output is written to a temporary file in its own folder and only then committed under its
name. Committing a new file links the temporary file into place, which fails if the name has
appeared meanwhile, so two processes racing for the same new output cannot both succeed
(``os.link`` is atomic and never replaces). With ``overwrite`` the temporary file is renamed over
the old one (``os.replace``), so readers see either the whole old or the whole new file.

Several outputs of one step are committed together inside :func:`output_transaction`: all of
them appear, or none does (an output already replaced is put back).

Only regular files are written: a symbolic link, a FIFO, a device or a folder under the output's
name is refused, with or without ``overwrite``. A failure of the file system (disk full,
read-only folder, name too long) is an :class:`~xrbid.errors.OutputError` of one line; the
temporary file is removed and any old output is left as it was. SIGTERM and SIGHUP arriving
while a temporary file exists remove it before the process ends.

:func:`guard_paths` (used by the command line) names the files a command was given, so that an
output that is also one of its inputs, or another of its outputs, is refused.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import os
import re
import signal
import stat
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError, OutputError, OutputExistsError

__all__ = [
    "atomic_output",
    "check_output",
    "guard_paths",
    "output_transaction",
    "reading",
    "write_text_atomic",
]

# errors of the file system while writing that are the user's environment, not a bug
_WRITE_ERRNOS = {
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
_NO_LINK = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EXDEV, errno.EMLINK}


# --------------------------------------------------------------------------------------------
# checks before writing
# --------------------------------------------------------------------------------------------


def _kind(mode: int) -> str | None:
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
        kind = _kind(st.st_mode)
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
        code = errno.EROFS if _read_only(parent) else errno.EACCES
        raise OutputError(_message(code, path, f"folder {parent} cannot be written"))
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


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _message(code: int, path: Path, detail: str | None = None) -> str:
    hint = _WRITE_ERRNOS.get(code, "check the disk and the folder")
    extra = f" ({detail})" if detail else ""
    return f"{os.strerror(code)} writing {path}{extra}; {hint}"


def _errno_of(exc: OSError) -> int | None:
    """The errno of a failed write, also when a library kept it only in the message."""
    if exc.errno:
        return exc.errno
    m = re.search(r"errno[\s:=]*(\d+)", str(exc), re.IGNORECASE)
    return int(m.group(1)) if m else None


def _write_error(exc: OSError, path: Path) -> OutputError | None:
    code = _errno_of(exc)
    if code in _WRITE_ERRNOS:
        return OutputError(_message(code, path))
    return None


# --------------------------------------------------------------------------------------------
# temporary files, and removing them on SIGTERM / SIGHUP
# --------------------------------------------------------------------------------------------

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


def _track(name: str) -> None:
    with _LOCK:
        if not _PENDING and threading.current_thread() is threading.main_thread():
            for sig in _SIGNALS:
                if signal.getsignal(sig) is signal.SIG_DFL:  # never replace the user's handler
                    _SAVED_HANDLERS[sig] = signal.signal(sig, _on_signal)
        _PENDING.add(name)


def _untrack(name: str) -> None:
    with _LOCK:
        _PENDING.discard(name)
        if not _PENDING and threading.current_thread() is threading.main_thread():
            for sig, handler in _SAVED_HANDLERS.items():
                signal.signal(sig, handler)
            _SAVED_HANDLERS.clear()


def _remove(name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name)
    _untrack(name)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _new_temp(path: Path) -> str:
    """An empty temporary file beside ``path`` with the permissions of a normal new file."""
    stem = os.fsencode(path.name)[:80].decode("utf-8", "ignore")
    try:
        fd, name = tempfile.mkstemp(prefix=f".{stem}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        err = _write_error(exc, path)
        if err is None:
            raise
        raise err from None
    try:
        _track(name)
        os.close(fd)
        os.chmod(name, 0o666 & ~_umask())  # mkstemp makes 0600 files
    except BaseException:  # Ctrl-C here must not leave the file behind either
        _remove(name)
        raise
    return name


# --------------------------------------------------------------------------------------------
# committing
# --------------------------------------------------------------------------------------------


@dataclass
class _Staged:
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


def _commit(entries: list[_Staged]) -> None:
    """Put every staged file in place, or (on any failure) none of them."""
    done: list[tuple[Path, str | None]] = []  # (output, backup of the old file or None)
    blocked = _block_signals()
    try:
        try:
            for e in entries:
                st = _lstat(e.path)
                if st is not None and (stat.S_ISLNK(st.st_mode) or _kind(st.st_mode)):
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
            err = _write_error(exc, failed or entries[0].path)
            if err is None:
                raise
            raise err from None
        except BaseException:
            _roll_back(done)
            raise
        for _, backup in done:
            if backup is not None:
                _remove(backup)
    finally:
        for e in entries:
            _remove(e.tmp)
        _unblock_signals(blocked)


def _lstat(path: Path) -> os.stat_result | None:
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
    _track(name)
    return name


def _roll_back(done: list[tuple[Path, str | None]]) -> None:
    for path, backup in reversed(done):
        with contextlib.suppress(OSError):
            if backup is None:
                os.unlink(path)
            else:
                os.replace(backup, path)
                _untrack(backup)


def _block_signals() -> set | None:
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)


def _unblock_signals(previous: set | None) -> None:
    if previous is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


# --------------------------------------------------------------------------------------------
# public writers
# --------------------------------------------------------------------------------------------


@dataclass
class _Transaction:
    staged: list[_Staged] = field(default_factory=list)


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
    if txn is not None and any(_same_file(s.path, path) for s in txn.staged):
        raise OutputError(f"{path} is written twice by this command; give each output its own name")
    tmp: str | None = None
    kept = False
    try:
        tmp = _new_temp(path)
        entry = _Staged(tmp, path, overwrite)
        try:
            yield Path(tmp)
        except OSError as exc:
            err = _write_error(exc, path)
            if err is None:
                raise
            raise err from None
        if txn is not None:
            txn.staged.append(entry)
            kept = True
        else:
            _commit([entry])
    finally:
        if tmp is not None and not kept:
            _remove(tmp)


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
            if _same_file(p, q):
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
            _remove(entry.tmp)
        raise
    finally:
        _TRANSACTION.reset(token)
    _commit(txn.staged)


def write_text_atomic(path: str | os.PathLike, text: str, overwrite: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8); return the path."""
    with atomic_output(path, overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


# --------------------------------------------------------------------------------------------
# the files a command was given
# --------------------------------------------------------------------------------------------


def _key(path: Path) -> tuple:
    """The identity of a file: device and inode when it exists, else its resolved path."""
    try:
        st = os.stat(path)
        return ("inode", st.st_dev, st.st_ino)
    except OSError:
        return ("path", os.path.realpath(os.path.abspath(path)))


def _same_file(a: Path, b: Path) -> bool:
    return _key(a) == _key(b)


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
        by_key.setdefault(_key(p), []).append((option, p))
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
    entries = by_key.get(_key(path), [])
    if len(entries) > 1:
        raise OutputError(_twice(entries))


# --------------------------------------------------------------------------------------------
# reading inputs
# --------------------------------------------------------------------------------------------


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
