"""The figures of a single-galaxy run, drawn in a plotting process off the critical path.

Importing matplotlib and drawing a figure cost more than the steps of a run on tables. When one
galaxy runs (``xrbid run CONFIG``) and a step that will run draws a figure, `FigureProcess`
starts a fresh interpreter (``python -m xrbid.figures._worker``) at the beginning of the run,
which imports matplotlib on another core while the run reads its tables. A step hands it the
figure as data (`Context.figure`: a kind, numbers, arrays and the file to write, never code;
the alignment plot and the CMD are drawn this way, the finder charts not yet)
and goes on; the run waits for the file only before the report reads it, or before it commits
its outputs, and then records its hash in the step's manifest.

If the plotting process cannot start, dies, answers with an error, or has not answered within
`TIMEOUT` seconds, the figure is drawn in the run's process instead (`xrbid.figures._jobs.render`,
the very function the plotting process calls: the bytes are the same; the process works in the
run's working folder, where matplotlib looks for a ``matplotlibrc`` first). The process ends
with the run, however the run ends. Many galaxies on dask do not use it: their workers already
run in parallel.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..errors import OutputError

__all__ = ["GRACE", "TIMEOUT", "FigureJob", "FigureProcess", "draw", "draw_here"]

WORKER = "xrbid.figures._worker"
TIMEOUT = 30.0
"""Seconds a figure may take in the plotting process (its start included) before the run
draws it itself."""
GRACE = 3.0
"""Seconds to wait for a figure after the run was interrupted (Ctrl-C)."""
FOLDER = ".figures"
"""Where in the staging folder the plotting process writes (moved into place when done)."""


@dataclass
class FigureJob:
    """One figure handed to the plotting process: its output name and what draws it."""

    id: int
    name: str
    kind: str
    values: dict[str, Any]
    arrays: dict[str, Any]
    sent: float = field(default_factory=time.monotonic)


class FigureProcess:
    """A plotting process for one run: started at once, fed figures, waited for, ended.

    Parameters
    ----------
    staging : Path
        The run's staging folder; the process writes into its ``.figures`` folder.
    """

    def __init__(self, staging: Path) -> None:
        self.staging = staging
        self.folder = staging / FOLDER
        self.pending: list[FigureJob] = []
        self._proc: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None
        self._writer: threading.Thread | None = None
        self._lines: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._answers: dict[int, dict[str, Any]] = {}
        self._cond = threading.Condition()
        self._gone = False
        self._hung = False
        self._next = 1

    # -- the process ---------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The plotting process's id (None when it did not start)."""
        return self._proc.pid if self._proc is not None else None

    def start(self) -> bool:
        """Start the plotting process; False (and figures drawn here) if it cannot start."""
        try:
            self.folder.mkdir()
            if not sys.executable:
                raise OSError("no Python interpreter to start")
            # the run's own working folder, where matplotlib looks for a matplotlibrc first
            # (and resolves a relative MATPLOTLIBRC or MPLCONFIGDIR) as it does in this
            # process; -P keeps that folder off sys.path, so nothing in it shadows a module
            self._proc = subprocess.Popen(
                [sys.executable, "-P", "-m", WORKER, str(os.getpid())],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches the run, which ends the process
            )
        except OSError:
            self._gone = True
            return False
        self._reader = threading.Thread(target=self._read, args=(self._proc.stdout,), daemon=True)
        self._reader.start()
        # jobs are written by a thread of their own: a process that does not read (it is still
        # importing, or hangs) never holds the run up, whatever the size of a job
        self._writer = threading.Thread(target=self._write, args=(self._proc.stdin,), daemon=True)
        self._writer.start()
        return True

    def _write(self, stream: IO[bytes]) -> None:
        try:
            while (line := self._lines.get()) is not None:
                stream.write(line)
                stream.flush()
            stream.close()  # the process ends at the end of its input
        except (OSError, ValueError):  # the process is gone (or was killed)
            with self._cond:
                self._gone = True
                self._cond.notify_all()

    def _read(self, stream: IO[bytes]) -> None:
        for line in stream:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            with self._cond:
                if message.get("ready") is False:
                    self._gone = True
                elif isinstance(message.get("id"), int):
                    self._answers[message["id"]] = message
                self._cond.notify_all()
        with self._cond:
            self._gone = True
            self._cond.notify_all()

    def close(self) -> None:
        """End the plotting process and reap it (killed if it does not end at once)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            self._lines.put(None)  # the writer closes its input after the jobs sent
            if not self._hung:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=2.0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for thread in (self._writer, self._reader):
                if thread is not None:
                    thread.join(timeout=2.0)
            with contextlib.suppress(OSError):
                proc.stdout.close()

    # -- figures -------------------------------------------------------------------------

    def submit(self, name: str, kind: str, values: dict[str, Any], arrays: dict[str, Any]) -> bool:
        """Send the figure ``name`` to the plotting process; False if it cannot take it."""
        from ..figures._jobs import encode_arrays

        with self._cond:
            if self._proc is None or self._gone:
                return False
        job = FigureJob(self._next, name, kind, values, arrays)
        self._next += 1
        line = json.dumps(
            {
                "id": job.id,
                "kind": kind,
                "values": values,
                "arrays": encode_arrays(arrays),
                "path": str(self.folder / name),
            }
        )
        self._lines.put(line.encode("utf-8") + b"\n")  # if it cannot be written: drawn here
        self.pending.append(job)
        return True

    def take(self) -> list[FigureJob]:
        """The figures submitted since the last call (those of the step that just ran)."""
        jobs, self.pending = self.pending, []
        return jobs

    def collect(self, job: FigureJob, deadline: float) -> list[str]:
        """Put ``job``'s file in the staging folder; return the warnings drawing it gave.

        Waits for the plotting process at most until ``deadline`` (`time.monotonic`); if it
        failed, or did not answer in time, draws the figure in this process.

        Raises
        ------
        OutputError
            Even this process cannot draw it (one line, naming the file).
        """
        answer = self._wait(job.id, deadline)
        drawn = self.folder / job.name
        if answer is not None and answer.get("ok") and drawn.is_file():
            with contextlib.suppress(OSError):  # if it cannot be moved, it is drawn here
                os.replace(drawn, self.staging / job.name)
                return [str(w) for w in answer.get("warnings", [])]
        if answer is None and not self._gone:
            self._hung = True  # no answer in time: it will be killed, not waited for
        return draw_here(job, self.staging / job.name)

    def _wait(self, job_id: int, deadline: float) -> dict[str, Any] | None:
        with self._cond:
            while job_id not in self._answers and not self._gone:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
            return self._answers.get(job_id)


def draw_here(job: FigureJob, path: Path) -> list[str]:
    """Draw ``job`` in this process into ``path``; return its warnings.

    Raises
    ------
    OutputError
        The figure cannot be drawn (e.g. matplotlib fails to import or to write).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draw(job.name, job.kind, job.values, job.arrays, path)
    return sorted({str(w.message) for w in caught if issubclass(w.category, UserWarning)})


def draw(name: str, kind: str, values: dict[str, Any], arrays: dict[str, Any], path: Path) -> None:
    """Draw the figure ``name`` in this process into ``path``; every failure is one line.

    Parameters
    ----------
    name : str
        The figure's output name (for the message).
    kind, values, arrays
        The job (`xrbid.figures._jobs.render`).
    path : Path
        Where to write it.

    Raises
    ------
    OutputError
        The figure cannot be drawn (e.g. matplotlib fails to import or to write).
    """
    from ..errors import XrbidError

    try:
        from ..figures._jobs import render

        render(kind, values, arrays, path)
    except XrbidError:
        raise
    except Exception as exc:
        raise OutputError(f"cannot draw {name} ({type(exc).__name__}: {exc})") from exc
