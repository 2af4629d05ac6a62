"""Running DS9 and XPA name-server processes, read from /proc and identified by executable.

A process is DS9 when its executable is DS9 (SAO's single-file ``ds9`` build), or a Tcl/Tk
interpreter (``wish``, ``tclsh``) running DS9's ``ds9.tcl`` script (Debian's ``ds9`` is a shell
script that execs ``wish -f .../ds9.tcl``). A word ``ds9`` elsewhere in a command line, as in
``xrbid ds9 show``, does not make a process DS9.
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RunningProcess", "ds9_processes", "xpans_processes"]

_TCL_RE = re.compile(r"^(wish|tclsh)[0-9.]*$")


@dataclass(frozen=True)
class RunningProcess:
    """A running process: its pid, its DS9 title (``ds9`` unless ``-title`` is given; empty
    for other programs) and whether it is stopped (SIGSTOP, Ctrl-Z)."""

    pid: int
    title: str
    stopped: bool


def _argv(entry: Path) -> list[str]:
    raw = (entry / "cmdline").read_bytes().split(b"\0")
    return [a.decode("utf-8", "replace") for a in raw if a]


def _executable(entry: Path) -> str:
    """The executable's file name (from the exe link; the kernel's comm name when the link
    cannot be read, e.g. another user's process)."""
    try:
        return Path(os.readlink(entry / "exe")).name.removesuffix(" (deleted)")
    except OSError:
        return (entry / "comm").read_text(encoding="utf-8", errors="replace").strip()


def _stopped(entry: Path) -> bool:
    stat = (entry / "stat").read_text(encoding="utf-8", errors="replace")
    state = stat.rsplit(")", 1)[-1].split()
    return bool(state) and state[0] in ("T", "t")


def _is_ds9(executable: str, argv: list[str]) -> bool:
    if executable == "ds9" or executable.startswith("ds9-") or executable.startswith("ds9."):
        return True
    if not _TCL_RE.match(executable):
        return False
    # the interpreter's script: the word after -f, else the first word not an option
    words = argv[1:]
    script = ""
    for i, word in enumerate(words):
        if word == "-f" and i + 1 < len(words):
            script = words[i + 1]
            break
        if not word.startswith("-"):
            script = word
            break
    return Path(script).name == "ds9.tcl"


def _processes(wanted) -> list[RunningProcess]:
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    found = []
    me = os.getpid()
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            argv = _argv(entry)
            executable = _executable(entry)
            title = wanted(executable, argv)
            if title is None:
                continue
            found.append(RunningProcess(int(entry.name), title, _stopped(entry)))
        except OSError:  # the process ended while being read
            continue
    return sorted(found, key=lambda p: p.pid)


def _ds9_title(executable: str, argv: list[str]) -> str | None:
    if not _is_ds9(executable, argv):
        return None
    title = "ds9"
    for flag, value in itertools.pairwise(argv):
        if flag == "-title":
            title = value
    return title


def ds9_processes() -> list[RunningProcess]:
    """Running DS9 processes (of any user), with their titles, in pid order."""
    return _processes(_ds9_title)


def _xpans_port(executable: str, argv: list[str]) -> str | None:
    if executable != "xpans":
        return None
    port = "14285"  # XPA's default name-server port
    for flag, value in itertools.pairwise(argv):
        if flag == "-p":
            port = value
    return port


def xpans_processes() -> list[RunningProcess]:
    """Running XPA name servers (``xpans``), in pid order; ``title`` holds the port each
    listens on."""
    return _processes(_xpans_port)
