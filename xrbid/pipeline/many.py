"""Many galaxies in parallel on dask: local worker processes, or a dask.distributed cluster.

`run_many` runs several configurations; a galaxy that fails is reported (its result has
``ok=False`` and the error's one line) and the others finish.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import InputError, XrbidError
from .config import load_config
from .run import GalaxyResult, run_galaxy

__all__ = ["run_many"]


def _run_one(path: str, options: dict[str, Any]) -> GalaxyResult:
    """Run one galaxy, turning a user error into a failed result (runs on a dask worker)."""
    t0 = time.perf_counter()
    try:
        return run_galaxy(path, **options)
    except Exception as exc:  # a user error, or a bug: reported, the other galaxies go on
        res = _failed(path, exc)
        res.seconds = time.perf_counter() - t0
        return res


def _failed(path: str, exc: BaseException) -> GalaxyResult:
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
        Local worker processes (one thread each) when no ``scheduler`` is given.
    scheduler : str, optional
        Address of a running dask.distributed scheduler (``tcp://host:8786``).
    force, until, overwrite
        As for `run_galaxy`, for every galaxy.
    on_result : callable, optional
        Called with each `GalaxyResult` as it finishes (in completion order).
    use_dask : bool, optional
        Run in this process, one galaxy after the other, when false; default: dask unless
        ``workers == 1`` and no scheduler.

    Returns
    -------
    list of GalaxyResult
        In the order of ``configs``. A galaxy that failed has ``ok=False`` and the error's
        one line; the others are not affected.

    Raises
    ------
    InputError
        ``workers`` below 1, two configurations writing to the same folder, or dask missing.
    """
    if workers < 1:
        raise InputError(f"-j/--workers must be at least 1, not {workers}")
    paths = [str(Path(c)) for c in configs]
    results: dict[int, GalaxyResult] = {}
    todo: list[int] = []
    folders: dict[Path, str] = {}
    for i, path in enumerate(paths):
        try:
            cfg = load_config(path)
        except XrbidError as exc:
            results[i] = _failed(path, exc)
            if on_result:
                on_result(results[i])
            continue
        other = folders.get(cfg.outputs.folder)
        if other is not None:
            raise InputError(
                f"{path} and {other} both write to {cfg.outputs.folder}; give each galaxy "
                "its own [outputs].folder"
            )
        folders[cfg.outputs.folder] = path
        todo.append(i)
    options = {"force": tuple(force), "until": until, "overwrite": overwrite}
    if use_dask is None:
        use_dask = scheduler is not None or workers > 1
    method = "spawn"
    if use_dask and todo and scheduler is None:
        method = _start_worker_server()
    if not use_dask:
        for i in todo:
            results[i] = _run_one(paths[i], options)
            if on_result:
                on_result(results[i])
    elif todo:
        for i, res in _on_dask(paths, todo, options, workers, scheduler, method):
            results[i] = res
            if on_result:
                on_result(res)
    return [results[i] for i in range(len(paths))]


def _start_worker_server() -> str:
    """Start the process the local workers are forked from; return the start method.

    The server imports the pipeline's libraries once (`_preload`), while this process goes
    on; each worker is then a fork of it, with nothing left to import. It is Python's
    ``forkserver``: one single-threaded process, so forking it is safe (this process has
    the cluster's threads, and is never forked). Where there is no forkserver (Windows),
    the workers are spawned and import on their own.
    """
    import multiprocessing
    from multiprocessing import forkserver

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return "spawn"

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["distributed", "xrbid.pipeline._preload"])
    forkserver.ensure_running()  # once a process; it starts here, in parallel with us
    return "forkserver"


def _on_dask(paths, todo, options, workers, scheduler, method="spawn"):
    try:
        import dask
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise InputError(
            "running several galaxies in parallel needs dask.distributed: "
            "pip install 'xrbid[dask]' (or run them one by one with -j 1)"
        ) from None
    cluster = None
    try:
        if scheduler is not None:
            try:
                client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError, ValueError, TypeError) as exc:
                # OSError/TimeoutError: nothing answers; ValueError/TypeError: not an address
                raise InputError(
                    f"no dask scheduler answers at {scheduler} ({exc}); start one "
                    "(dask scheduler) or leave out --scheduler to use local processes"
                ) from None
        else:
            with dask.config.set({"distributed.worker.multiprocessing-method": method}):
                cluster = LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address="127.0.0.1:0",  # status page on a free local port
                    silence_logs=40,
                )
            client = Client(cluster)
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
    finally:
        if cluster is not None:
            cluster.close()
