"""Many galaxies in parallel on dask: local worker processes, or a dask.distributed cluster.

`run_many` runs several configurations; a galaxy that fails is reported (its result has
``ok=False`` and the error's one line) and the others finish.

Local runs use dask's own multiprocessing scheduler on a `ProcessPoolExecutor` whose
workers are forked from one process that imported the pipeline once (Python's
``forkserver``, preloading `_preload`): nothing to start but the workers themselves, and
nothing left for them to import. ``scheduler=ADDRESS`` sends the galaxies to a running
dask.distributed cluster instead.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import InputError, XrbidError
from .config import load_config
from .run import GalaxyResult, run_galaxy

__all__ = ["run_many"]

_NEEDS_DASK = (
    "running several galaxies in parallel needs {}: pip install 'xrbid[dask]' "
    "(or run them one by one with -j 1)"
)
WORKER_DIED = (
    "its worker process died (killed, out of memory, or a crash in compiled code); "
    "the other galaxies went on"
)


def _run_one(path: str, options: dict[str, Any], run: Callable = run_galaxy) -> GalaxyResult:
    """Run one galaxy, turning a user error into a failed result (runs on a dask worker)."""
    t0 = time.perf_counter()
    try:
        return run(path, **options)
    except _Stopped as exc:  # the galaxy has put its folder back as it was: end now
        os._exit(exc.code)
    except Exception as exc:  # a user error, or a bug: reported, the other galaxies go on
        res = _failed(path, exc)
        res.seconds = time.perf_counter() - t0
        return res


def _failed(path: str, exc: BaseException | str) -> GalaxyResult:
    if isinstance(exc, str):
        text = exc
    else:
        text = str(exc) if isinstance(exc, XrbidError) else f"{type(exc).__name__}: {exc}"
    name = getattr(exc, "galaxy", None) or Path(path).stem
    return GalaxyResult(
        name,
        str(path),
        ok=False,
        error=text,
        failed_step=getattr(exc, "step", None),
        steps=list(getattr(exc, "steps", [])),  # those that finished before the failure
    )


def run_many(
    configs: Sequence[str | os.PathLike],
    *,
    workers: int = 2,
    scheduler: str | None = None,
    force: Sequence[str] = (),
    until: str | None = None,
    overwrite: bool = False,
    on_result: Callable[[GalaxyResult], None] | None = None,
    use_dask: bool | None = None,
) -> list[GalaxyResult]:
    """Run several galaxies in parallel on dask; return one result per configuration.

    Parameters
    ----------
    configs : sequence of path
        Galaxy configurations (TOML).
    workers : int
        Local worker processes (one galaxy at a time each) when no ``scheduler`` is given.
    scheduler : str, optional
        Address of a running dask.distributed scheduler (``tcp://host:8786``).
    force, until, overwrite
        As for `run_galaxy`, for every galaxy.
    on_result : callable, optional
        Called in this process with each `GalaxyResult` as it finishes (in completion order).
    use_dask : bool, optional
        Run in this process, one galaxy after the other, when false; default: dask unless
        ``workers == 1`` and no scheduler.

    Returns
    -------
    list of GalaxyResult
        In the order of ``configs``. A galaxy that failed has ``ok=False`` and the error's
        one line; the others are not affected. A galaxy whose worker process died (killed,
        out of memory, a crash in compiled code) is such a failure too.

    Raises
    ------
    InputError
        ``workers`` below 1, two configurations writing to the same folder, dask missing,
        or no scheduler answering at ``scheduler``.
    KeyboardInterrupt
        On Ctrl-C: the local workers are stopped first.
    SystemExit
        On SIGTERM or SIGHUP (code 128 + the signal's number), when they had no handler of
        their own: the local workers are stopped first, as on Ctrl-C.
    """
    if workers < 1:
        raise InputError(f"-j/--workers must be at least 1, not {workers}")
    with _exit_on_termination():
        return _run_many(configs, workers, scheduler, force, until, overwrite, on_result, use_dask)


def _run_many(configs, workers, scheduler, force, until, overwrite, on_result, use_dask):
    if use_dask is None:
        use_dask = scheduler is not None or workers > 1
    paths = [str(Path(c)) for c in configs]
    method = "spawn"
    if use_dask and scheduler is None and paths:
        method = _start_worker_server()  # imports in parallel with the configs' validation
    results: dict[int, GalaxyResult] = {}
    todo: list[int] = []
    folders: dict[Path, str] = {}

    def report(i: int, res: GalaxyResult) -> None:
        results[i] = res
        if on_result:
            on_result(res)

    for i, path in enumerate(paths):
        try:
            cfg = load_config(path)
        except XrbidError as exc:
            report(i, _failed(path, exc))
            continue
        other = folders.get(cfg.outputs.folder)
        if other is not None:
            raise InputError(
                f"{path} and {other} both write to {cfg.outputs.folder}; give each galaxy "
                "its own [outputs].folder"
            )
        folders[cfg.outputs.folder] = path
        todo.append(i)
    options = {
        "force": tuple(force),
        "until": until,
        "overwrite": overwrite,
        "figure_process": False,  # the galaxies already run in parallel: no plotting process
    }
    if not todo:
        pass
    elif not use_dask:
        for i in todo:
            report(i, _run_one(paths[i], options))
    elif scheduler is not None:
        for i, res in _on_cluster(paths, todo, options, scheduler):
            report(i, res)
    else:
        _on_local_pool(paths, todo, options, workers, method, report)
    return [results[i] for i in range(len(paths))]


@contextlib.contextmanager
def _exit_on_termination() -> Iterator[None]:
    """Make SIGTERM and SIGHUP raise `SystemExit` in this process while the block runs.

    Their default action ends this process at once, without the ``finally`` and ``except``
    clauses that stop the local workers, which then go on (and commit galaxies) with no one
    to report to, and are never reaped. As an exception they unwind the run as Ctrl-C does.
    A signal that already has a handler, or a caller outside the main thread (where Python
    sets no handlers), is left as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    saved = {}
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)  # no SIGHUP on Windows
        if sig is not None and signal.getsignal(sig) == signal.SIG_DFL:
            saved[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)


def _start_worker_server() -> str:
    """Start the process the local workers are forked from; return the start method.

    The server imports the pipeline's libraries once (`_preload`), while this process goes
    on; each worker is then a fork of it, with nothing left to import. It is Python's
    ``forkserver``: a process that runs no Python thread and holds no lock of this one (this
    process has dask's threads, and is never forked). The preload's pyarrow may start its
    memory allocator's (jemalloc's) background thread there; the allocator takes its own locks
    around a fork, and a forked worker starts with the forking thread only. Where there is no
    forkserver (Windows), the workers are spawned and import on their own.
    """
    import multiprocessing
    from multiprocessing import forkserver

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return "spawn"
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["xrbid.pipeline._preload"])
    forkserver.ensure_running()  # once a process; it starts here, in parallel with us
    return "forkserver"


def _on_local_pool(paths, todo, options, workers, method, report, run=run_galaxy) -> None:
    """Run the galaxies on dask's multiprocessing scheduler, ``workers`` processes.

    dask's local scheduler stops at the first task that raises, and a pool whose worker
    died (os._exit, a signal, the out-of-memory killer) raises `BrokenProcessPool` for
    every galaxy then in flight. `_run_one` turns each galaxy's exception into a result, so
    only a dead worker stops a round: the galaxies not yet started go on in a new pool, and
    those that were running are run again alone, so that the one that kills its worker
    alone is the one reported.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    try:
        import dask
        from dask.callbacks import Callback
    except ImportError:
        raise InputError(_NEEDS_DASK.format("dask")) from None

    ctx = multiprocessing.get_context(method)
    pending = list(todo)  # not started
    alone: list[int] = []  # were running beside another galaxy when a worker died
    while pending or alone:
        if alone:
            batch, n = [alone.pop(0)], 1
        else:
            batch, n, pending = pending, min(workers, len(pending)), []
        pool = ProcessPoolExecutor(
            n, mp_context=ctx, initializer=_init_worker, initargs=(os.getpid(),)
        )
        left = list(batch)  # not finished
        running: set[int] = set()
        try:
            _round(dask, Callback, pool, paths, batch, options, run, report, running, left)
        except BrokenProcessPool:
            if len(running) == 1:
                (i,) = running
                report(i, _failed(paths[i], WORKER_DIED))
            else:
                alone.extend(sorted(running))
            pending = [i for i in left if i not in running] + pending
        except BaseException:  # Ctrl-C, or a bug here: no worker left behind
            _stop(pool)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _init_worker(main_pid: int) -> None:
    """Prepare a local worker process (runs in each worker before its first galaxy).

    SIGTERM, which the main process sends to stop a worker, unwinds the galaxy in progress
    (`_stopped`). Ctrl-C is left to the main process, which stops the workers: a terminal's Ctrl-C
    signals every process of its group, and a worker waiting for its next galaxy printed
    the KeyboardInterrupt's traceback. And the worker ends when the main process is gone
    (killed by SIGKILL or the out-of-memory killer, which no handler sees): the workers,
    forked from the forkserver and holding the ends of their own queues, otherwise went on
    with their galaxies and then waited for ever.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stopped)
    threading.Thread(target=_exit_with, args=(main_pid,), daemon=True).start()


class _Stopped(SystemExit):
    """A local worker was told to stop (SIGTERM from the main process)."""


def _stopped(signum, frame):
    # unwinds the galaxy in progress as Ctrl-C does a single run: its staging folder is
    # removed and a commit under way is put back, where the signal's default action left
    # both (and could leave a folder with half of the new outputs); an idle worker ends.
    # Once: a second SIGTERM (the pool's shutdown sends its own) would cut the unwinding.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise _Stopped(128 + signum)


def _exit_with(pid: int) -> None:
    """Wait for process ``pid`` to end, then end this process at once."""
    try:
        fd = os.pidfd_open(pid)  # Linux: a file that becomes readable when ``pid`` ends
    except (AttributeError, OSError):
        fd = None
    if fd is not None:
        import select

        select.select([fd], [], [])
    elif os.name != "posix":
        return  # Windows: os.kill would end the process it asks about
    else:
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            except OSError:  # alive, but ours to signal no more
                pass
            time.sleep(1.0)
    os._exit(1)


def _round(dask, Callback, pool, paths, batch, options, run, report, running, left) -> None:
    """Run ``batch`` on ``pool``; keep ``running`` and ``left`` (not finished) up to date."""
    # dask's local scheduler starts first the ready task whose key sorts last: keys that
    # count down start the galaxies in the order given
    width = len(str(len(batch)))
    index = {f"xrbid-run-{len(batch) - k:0{width}d}": i for k, i in enumerate(batch)}

    class _Progress(Callback):
        # called in this process, by dask's scheduler loop, as each task starts and ends
        def _pretask(self, key, dsk, state):
            running.add(index[key])

        def _posttask(self, key, result, dsk, state, worker_id):
            running.discard(index[key])
            left.remove(index[key])
            report(index[key], result)

    tasks = [
        dask.delayed(_run_one, pure=False)(paths[i], options, run, dask_key_name=key)
        for key, i in index.items()
    ]
    with _Progress():
        # one galaxy per submission (dask's default batches 6), so that results and
        # failures come back one by one and both workers stay busy to the end
        dask.compute(*tasks, scheduler="processes", pool=pool, chunksize=1, optimize_graph=False)


def _stop(pool) -> None:
    """Stop a pool's worker processes now, even those in the middle of a galaxy."""
    terminate = getattr(pool, "terminate_workers", None)  # Python >= 3.14
    if terminate is not None:
        terminate()
        return
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(5)
        if p.is_alive():
            p.kill()


CONNECT_TIMEOUT = 10.0  # seconds for a scheduler to answer


def _handshake(address: str, timeout: float) -> None:
    """Connect to ``address`` and exchange dask's handshake, or raise.

    distributed's `Client` (as its ``connect``) waits for the handshake's answer without a
    time limit, so a server of another kind that accepts the connection and waits for a
    request (a web server) held ``--scheduler`` for ever. The exchange runs in a thread of
    its own, with its own event loop, so that it works whatever loop the caller runs.

    Raises
    ------
    OSError
        Nothing listens, or the connection was refused or closed.
    TimeoutError
        Nothing reached within ``timeout``, or no handshake within as long again.
    ValueError
        ``address`` is not an address distributed knows.
    """
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from distributed.comm import connect
    from distributed.security import Security

    args = Security().get_connection_args("client")

    async def exchange() -> None:
        # connect's own timeout covers reaching the server (its message says so); the
        # handshake after it gets as long again
        comm = await asyncio.wait_for(connect(address, timeout=timeout, **args), 2 * timeout)
        await comm.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, exchange()).result()


def _on_cluster(paths, todo, options, scheduler):
    """Run the galaxies on a running dask.distributed cluster; yield (index, result)."""
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise InputError(_NEEDS_DASK.format("dask.distributed")) from None
    try:
        _handshake(scheduler, CONNECT_TIMEOUT)
        client = Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        # OSError/TimeoutError: nothing answers; ValueError/TypeError: not an address
        problem = str(exc) or (
            "it accepted the connection but gave no answer in dask's protocol: "
            "another kind of server?"
        )
    else:
        problem = None
    if problem is not None:
        # The half-made Client is left in a reference cycle, closed by its __del__; were
        # that run by the cyclic collector inside a later Client's start, which holds
        # distributed's loop lock, the two would deadlock: it is collected now instead.
        gc.collect()
        raise InputError(
            f"no dask scheduler answers at {scheduler} ({problem}); start one "
            "(dask scheduler) or leave out --scheduler to use local processes"
        )
    with client:
        futures = {
            client.submit(_run_one, paths[i], options, pure=False, key=f"xrbid-run-{i}"): i
            for i in todo
        }
        for fut in as_completed(futures):
            i = futures[fut]
            try:
                yield i, fut.result()
            except Exception as exc:  # a bug or a lost worker: report it, keep going
                yield i, _failed(paths[i], exc)
