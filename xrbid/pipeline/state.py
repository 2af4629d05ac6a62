"""What a step remembers: its inputs' hashes, parameters and version, beside its outputs.

Each finished step leaves ``<output folder>/.xrbid/<step>.json`` (a *manifest*). A step is up
to date when its manifest's key (a hash of the xrbid version, the step's parameters and the
hashes of its inputs) equals the key it would have now, and every output it recorded is on disk
with the recorded hash. Outputs of a run are written to a staging folder and put in place
together by `commit` (one output transaction), so a run that stops half-way leaves no half
outputs.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .._io import atomic_output, output_transaction, write_text_atomic
from .._version import __version__
from ..errors import OutputError

__all__ = [
    "STATE_DIR",
    "Manifest",
    "commit",
    "file_hash",
    "folder_lock",
    "make_key",
    "read_manifest",
]

STATE_DIR = ".xrbid"
_CHUNK = 1 << 20


def file_hash(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def make_key(step: str, params: dict[str, Any], inputs: dict[str, str]) -> str:
    """The identity of one step's work: version, parameters and input hashes, hashed."""
    blob = json.dumps(
        {"step": step, "version": __version__, "params": params, "inputs": inputs},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


class Manifest(dict):
    """A step's manifest: ``step, key, version, params, inputs, outputs, summary, seconds``."""

    def up_to_date(self, key: str, folder: Path) -> bool:
        """Whether ``key`` matches and every recorded output is present and unchanged."""
        if self.get("key") != key or self.get("version") != __version__:
            return False
        for name, digest in self.get("outputs", {}).items():
            path = folder / name
            if not path.is_file() or file_hash(path) != digest:
                return False
        return True

    def changes(self, params: dict[str, Any], inputs: dict[str, str], folder: Path) -> str:
        """Why the step is not up to date, in words (``--dry-run``); ``""`` when it is.

        Parameters
        ----------
        params : dict
            The step's parameters now.
        inputs : dict
            The hashes of its inputs now (``name -> SHA-256``).
        folder : Path
            The output folder, where the recorded outputs are looked for.

        Returns
        -------
        str
            ``made by xrbid V``, ``parameters changed: a, b``, ``inputs changed: x``,
            ``output F removed`` or ``output F edited`` (the first that applies, several
            names joined with commas), ``""`` when nothing differs.
        """
        if self.get("version") != __version__:
            return f"made by xrbid {self.get('version')}"
        now = json.loads(json.dumps(params, sort_keys=True, default=str))
        then = self.get("params")
        then = then if isinstance(then, dict) else {}
        changed = sorted(k for k in now.keys() | then.keys() if now.get(k) != then.get(k))
        if changed:
            return f"parameters changed: {', '.join(changed)}"
        before = self.get("inputs")
        before = before if isinstance(before, dict) else {}
        changed = sorted(k for k in inputs.keys() | before.keys() if inputs.get(k) != before.get(k))
        if changed:
            return f"inputs changed: {', '.join(changed)}"
        outputs = self.get("outputs", {})
        removed = [n for n in outputs if not (folder / n).is_file()]
        if removed:
            return f"output {', '.join(removed)} removed"
        edited = [n for n, digest in outputs.items() if file_hash(folder / n) != digest]
        if edited:
            return f"output {', '.join(edited)} edited"
        return ""


def read_manifest(folder: Path, step: str) -> Manifest | None:
    """The manifest of ``step`` in the output ``folder``, or None (absent or unreadable).

    A manifest that is not what `commit` writes (another step's, outputs that are not plain
    file names of the folder with their hashes, a summary that is not a mapping) is taken
    as absent: the step runs again. Its output names are never followed out of the folder
    (a run removes the outputs an earlier run recorded and no longer writes).
    """
    try:
        data = json.loads((folder / STATE_DIR / f"{step}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("step") != step:
        return None
    outputs = data.get("outputs", {})
    if not isinstance(outputs, dict) or not all(
        _plain_name(n) and isinstance(d, str) for n, d in outputs.items()
    ):
        return None
    if not isinstance(data.get("key"), str) or not isinstance(data.get("summary", {}), dict):
        return None
    return Manifest(data)


def _plain_name(name: object) -> bool:
    """Whether ``name`` is a file name in the folder itself (no folder part, not . or ..)."""
    return (
        isinstance(name, str)
        and name not in ("", ".", "..", STATE_DIR)
        and not any(c in name for c in ("/", "\\", "\x00"))
        and Path(name).name == name
    )


LOCK_FILE = "lock"


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold the output folder for one run; a second run on the same folder is refused.

    The lock is an advisory ``flock`` on ``<folder>/.xrbid/lock``, which holds the owner's
    process id. The operating system releases it when the process ends, however it ends
    (a run killed with SIGTERM or SIGKILL leaves no stale lock).

    Parameters
    ----------
    folder : Path
        The output folder (it must exist).

    Raises
    ------
    OutputError
        Another process holds the folder, or the lock file cannot be opened.
    """
    state = folder / STATE_DIR
    path = state / LOCK_FILE
    try:
        state.mkdir(exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OutputError(
            f"[outputs].folder: cannot write in {folder} ({exc.strerror}); "
            "choose a folder you can write to"
        ) from None
    try:
        try:
            _lock(fd)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EAGAIN, errno.EWOULDBLOCK):
                raise OutputError(f"cannot lock {path} ({exc.strerror})") from None
            owner = _read_owner(path)
            raise OutputError(
                f"{folder} is in use by another xrbid run (process {owner}); "
                "wait for it to finish, or give this run another [outputs].folder"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _read_owner(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii", errors="replace").strip() or "?"
    except OSError:
        return "?"


try:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

except ImportError:  # Windows
    import msvcrt

    def _lock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)


def staging_dir(folder: Path) -> Path:
    """A fresh staging folder for one run's outputs, inside the output folder's state folder.

    Staging folders left by runs that were killed (their process is gone) are removed.
    """
    state = folder / STATE_DIR
    state.mkdir(parents=True, exist_ok=True)
    for old in state.glob("staging-*"):
        pid = old.name.split("-")[1]
        if pid.isdigit() and not _alive(int(pid)):
            _remove_left(old)
    return Path(tempfile.mkdtemp(prefix=f"staging-{os.getpid()}-", dir=state))


# the temporary file of an output being put in place (xrbid._io's new_temp: mkstemp's
# ".NAME." prefix, 8 random characters, ".tmp")
_TEMP = re.compile(r"\.(.+)\.[a-z0-9_]{8}\.tmp")


def remove_stale_temps(folder: Path, names: Iterable[str]) -> list[str]:
    """Remove the temporary files of outputs that a killed run left in the output folder.

    A run killed while it put its outputs in place (a worker stopped by Ctrl-C, the
    out-of-memory killer) leaves ``.NAME.XXXXXXXX.tmp`` beside ``NAME``; the run that holds
    the folder's lock now is the only writer, so those files are nobody's. Only the
    temporary files of ``names`` (and of the manifests in ``.xrbid/``) are removed.

    Parameters
    ----------
    folder : Path
        The output folder (its lock held by the caller).
    names : iterable of str
        The output file names a run writes there.

    Returns
    -------
    list of str
        The files removed, relative to ``folder``.
    """
    known = set(names)
    manifests = {f"{name}.json" for name in _step_names()}
    removed = []
    for where, own in ((folder, known), (folder / STATE_DIR, manifests)):
        for path in sorted(where.glob(".*.tmp")):
            match = _TEMP.fullmatch(path.name)
            if match and match.group(1) in own and (path.is_symlink() or path.is_file()):
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed.append(path.relative_to(folder).as_posix())
    return removed


def _step_names() -> list[str]:
    from .steps import STEPS

    return list(STEPS)


def _remove_left(path: Path) -> None:
    """Remove what a killed run left; a file or a link is unlinked (never followed).

    Whatever cannot be removed stays: it is only garbage in the state folder, and this run
    stages elsewhere.
    """
    with contextlib.suppress(OSError):
        if path.is_symlink() or not path.is_dir():
            path.unlink()
        else:
            shutil.rmtree(path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def commit(folder: Path, staging: Path, manifests: list[Manifest]) -> None:
    """Put the staged outputs of ``manifests`` in ``folder`` with their manifests, all or none.

    One :func:`xrbid._io.output_transaction` (joining the caller's, if one is open) commits
    every output and then every manifest; if any of them cannot be put in place, the ones
    already replaced are put back, so the folder holds either the whole new run or the old one.
    """
    try:
        with output_transaction():
            for manifest in manifests:
                for name in manifest.get("outputs", {}):
                    with atomic_output(folder / name, overwrite=True) as tmp:
                        os.replace(staging / name, tmp)
            for manifest in manifests:
                text = json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n"
                path = folder / STATE_DIR / f"{manifest['step']}.json"
                write_text_atomic(path, text, overwrite=True)
    finally:
        discard(staging)


def discard(staging: Path) -> None:
    """Remove a staging folder and what is left in it."""
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(staging)
