"""A galaxy run that really fails in its worker process, chosen by the configuration's name.

Used by the many-galaxy tests in place of `run_galaxy` on dask's local worker processes
(imported there by name): ``exit`` in the file name ends the worker with ``os._exit``,
``segv`` kills it with SIGSEGV (as a crash in compiled code would), ``memory`` asks for more
memory than any machine has (a real MemoryError); any other configuration runs as usual.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from xrbid.pipeline import run_galaxy


def run_or_fail(path, **options):
    name = Path(path).stem
    if "exit" in name:
        os._exit(3)
    if "segv" in name:
        os.kill(os.getpid(), signal.SIGSEGV)
    if "memory" in name:
        bytearray(1 << 62)  # 4 EiB: MemoryError from the allocator
    return run_galaxy(path, **options)
