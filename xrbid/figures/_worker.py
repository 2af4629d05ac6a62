"""The plotting process of a single-galaxy ``xrbid run``: ``python -m xrbid.figures._worker``.

`xrbid.pipeline.render.FigureProcess` starts it at the beginning of a run, so that importing
matplotlib (and drawing) happens on another core while the run reads its tables. It reads one
job a line on stdin (JSON: ``id``, ``kind``, ``values``, ``arrays`` as a base64 ``.npz``, and
the ``path`` to write) and answers one line a job on stdout (``{"id", "ok", "warnings"}`` or
``{"id", "ok": false, "error"}``); the first line it writes says whether it is ready. A job is
data only: its kind names a drawing function of `xrbid.figures._jobs.KINDS`, its arrays are
read without pickles, and its file is a figure written atomically, never over an existing one.

It ends at the end of its input (the run closed the pipe, or ended), or when the process that
started it is gone. Ctrl-C at the terminal is the run's to handle: this process ignores it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import warnings
from typing import IO, Any


def _warm() -> None:
    """Import what drawing needs and draw once, off the run's critical path."""
    import io

    import numpy as np

    # this entry point selects its canvas itself; the library never switches backends
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from xrbid.figures._jobs import KINDS

    fig = KINDS["alignment"](
        {"shift": [0.1, -0.1], "std": [0.2, 0.2], "title": "warm-up"},
        {"dx": np.array([0.1, 0.3]), "dy": np.array([-0.1, 0.2]), "used": np.array([True, False])},
    )
    FigureCanvasAgg(fig).print_png(io.BytesIO())


def _watch_parent(parent: int) -> None:
    """End this process when the one that started it is gone (it was killed, say)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def _answer(out: IO[str], message: dict[str, Any]) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def _do(job: dict[str, Any]) -> dict[str, Any]:
    from xrbid.figures._jobs import decode_arrays, render

    arrays = decode_arrays(job["arrays"]) if job.get("arrays") else {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        render(str(job["kind"]), dict(job["values"]), arrays, str(job["path"]))
    notes = sorted({str(w.message) for w in caught if issubclass(w.category, UserWarning)})
    return {"ok": True, "warnings": notes}


def main() -> None:
    """Serve jobs from stdin until it ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _watch_parent(int(sys.argv[1]) if len(sys.argv) > 1 else os.getppid())
    # answers go to the original stdout; anything a library prints goes to stderr instead
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    try:
        _warm()
    except Exception as exc:  # e.g. matplotlib missing: the run draws in its own process
        _answer(out, {"ready": False, "error": f"{type(exc).__name__}: {exc}"})
        os._exit(1)
    _answer(out, {"ready": True})
    for line in sys.stdin:
        job_id = None
        try:
            job = json.loads(line)
            job_id = job["id"]
            answer = _do(job)
        except Exception as exc:
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        _answer(out, {"id": job_id, **answer})
    # nothing to clean up: skip the interpreter's teardown, which the run would wait for
    os._exit(0)


if __name__ == "__main__":
    main()
