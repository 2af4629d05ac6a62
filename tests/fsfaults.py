"""Real file-system faults for the tests: a full disk, a read-only folder, a file-size limit.

A small tmpfs (or a tmpfs remounted read-only) is mounted when the tests run as root and the
kernel lets them mount (the development machines and CI containers do); otherwise a full disk is
a file-size limit (``RLIMIT_FSIZE``, the write fails with EFBIG as on a full quota) and a
read-only folder is one without write permission. Either way the failure comes from the kernel,
not from a mock.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

XRBID = [sys.executable, "-m", "xrbid.cli.main"]


def _mount(folder: Path, options: str) -> bool:
    if os.geteuid() != 0:
        return False
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True
    )
    return done.returncode == 0


def _umount(folder: Path) -> None:
    subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@contextlib.contextmanager
def small_disk(folder: Path, size_kib: int) -> Iterator[bool]:
    """A folder on a file system of ``size_kib`` KiB; yields False when none could be mounted
    (callers then use :func:`run_limited` instead)."""
    mounted = _mount(folder, f"size={size_kib}k,mode=0777")
    try:
        yield mounted
    finally:
        if mounted:
            _umount(folder)


@contextlib.contextmanager
def read_only_folder(folder: Path, files: dict[str, bytes] | None = None) -> Iterator[str]:
    """A folder that cannot be written, holding ``files``; yields how ("mount" or "chmod")."""
    files = files or {}
    if _mount(folder, "size=256k,mode=0777"):
        for name, data in files.items():
            (folder / name).write_bytes(data)
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        try:
            yield "mount"
        finally:
            _umount(folder)
        return
    if os.geteuid() == 0:
        raise RuntimeError("cannot make a read-only folder: root without mount permission")
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    folder.chmod(0o555)
    try:
        yield "chmod"
    finally:
        folder.chmod(0o755)


def _limit(nbytes: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a core dump
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))

    return apply


def run_xrbid(
    *args: object, cwd: Path, fsize: int | None = None, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run the installed command line in a child process (optionally with a file-size limit)."""
    return subprocess.run(
        [*XRBID, *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_limit(fsize) if fsize is not None else None,
        env=env,
    )


def leftovers(folder: Path) -> list[str]:
    """Temporary files of xrbid's atomic writes left in ``folder``."""
    return sorted(
        p.name for p in folder.iterdir() if p.name.startswith(".") and p.suffix in (".tmp", ".old")
    )
