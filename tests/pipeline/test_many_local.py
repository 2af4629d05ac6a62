"""Several galaxies on dask's local multiprocessing scheduler, in real worker processes.

A galaxy whose worker dies (os._exit, SIGSEGV) or that runs out of memory is reported as
that galaxy's failure while the others finish; results arrive as each galaxy finishes;
Ctrl-C, SIGTERM and SIGHUP stop the workers, which also end when the main process is killed;
the spawn start method (Windows) works as the forkserver does.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from xrbid.pipeline import many, run_many

from .conftest import M101_CALIBRATORS, m101_toml
from .galaxy_faults import run_or_fail
from .test_many import _outputs


def _galaxies(tmp_path, names, until=None):
    paths = []
    for name in names:
        path = tmp_path / f"{name}.toml"
        text = m101_toml(ids=M101_CALIBRATORS[:6], folder=f"out_{name}")
        path.write_text(text.replace('"M101"', f'"G_{name}"'))
        paths.append(str(path))
    return paths


@contextlib.contextmanager
def _two_workers_busy(tmp_path, count=12):
    """``xrbid run`` of ``count`` galaxies on 2 local workers, once its first galaxy is done.

    Yields ``(process, its first progress line, left)``; on leaving,
    whatever of the workers is still running after 10 s is killed and listed in ``left``
    (processes left behind are a failure, not something for the next tests).
    """
    paths = _galaxies(tmp_path, [f"g{i}" for i in range(count)])
    cmd = [sys.executable, "-m", "xrbid.cli.main", "run", *paths, "-j", "2"]
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    workers, left = [], []
    try:
        line = proc.stderr.readline()  # the first galaxy done: both workers are busy
        assert "done" in line, line
        workers = [p for p in psutil.Process(proc.pid).children(recursive=True) if p.is_running()]
        assert len(workers) >= 3  # the forkserver and two workers
        yield proc, line, left
    finally:
        if proc.poll() is None:
            proc.kill()
        _, alive = psutil.wait_procs(workers, timeout=10)
        for p in alive:
            p.kill()
        left.extend(alive)
        proc.stderr.close()


def _run_local(paths, workers, method=None, run=run_or_fail, until="align"):
    """The local path of `run_many` with ``run`` in place of `run_galaxy`; (results, order)."""
    method = method or many._start_worker_server()
    results, order = {}, []

    def report(i, res):
        assert i not in results  # each galaxy reported once
        results[i] = res
        order.append(i)

    options = {"force": (), "until": until, "overwrite": False}
    many._on_local_pool(paths, list(range(len(paths))), options, workers, method, report, run)
    return [results[i] for i in range(len(paths))], order


@pytest.mark.parametrize("fault", ["exit", "segv"])
def test_a_worker_that_dies_fails_its_galaxy_only(tmp_path, fault):
    paths = _galaxies(tmp_path, ["a", f"b_{fault}", "c", "d"])
    results, order = _run_local(paths, workers=2)
    assert sorted(order) == [0, 1, 2, 3]
    assert [r.ok for r in results] == [True, False, True, True]
    assert results[1].error == many.WORKER_DIED
    assert results[1].name == f"b_{fault}"
    for name in ("a", "c", "d"):
        assert (tmp_path / f"out_{name}" / "alignment.json").exists()
    # a galaxy run again after its neighbour's worker died gives the same outputs
    assert _outputs(tmp_path / "out_a") == _outputs(tmp_path / "out_c")
    assert _outputs(tmp_path / "out_a") == _outputs(tmp_path / "out_d")


def test_two_dying_workers_and_a_memory_error(tmp_path):
    paths = _galaxies(tmp_path, ["a_exit", "b_segv", "c_memory", "d"])
    results, order = _run_local(paths, workers=2)
    assert sorted(order) == [0, 1, 2, 3]
    assert [r.ok for r in results] == [False, False, False, True]
    assert results[0].error == results[1].error == many.WORKER_DIED
    assert results[2].error.startswith("MemoryError")
    assert (tmp_path / "out_d" / "alignment.json").exists()


def test_results_arrive_as_each_galaxy_finishes(tmp_path):
    paths = _galaxies(tmp_path, ["a", "b", "c"])
    seen = []
    t0 = time.perf_counter()
    results = run_many(
        paths,
        workers=1,
        use_dask=True,
        until="align",
        on_result=lambda r: seen.append((r.name, time.perf_counter())),
    )
    t_end = time.perf_counter()
    assert [r.ok for r in results] == [True, True, True]
    # one worker: one galaxy after the other, each reported when it ends, not all at the end
    assert [name for name, _ in seen] == ["G_a", "G_b", "G_c"]
    first = seen[0][1]
    assert first - t0 < t_end - t0 - 0.9 * (results[1].seconds + results[2].seconds)


def test_spawned_workers_as_on_windows(tmp_path):
    paths = _galaxies(tmp_path, ["a", "b"])
    results, order = _run_local(paths, workers=2, method="spawn", run=many.run_galaxy)
    assert sorted(order) == [0, 1]
    assert all(r.ok for r in results)
    assert _outputs(tmp_path / "out_a") == _outputs(tmp_path / "out_b")


@pytest.mark.parametrize(
    ("sig", "to", "code"),
    [
        (signal.SIGINT, "group", 1),
        (signal.SIGINT, "main", 1),
        (signal.SIGTERM, "main", 128 + signal.SIGTERM),
        (signal.SIGHUP, "main", 128 + signal.SIGHUP),
    ],
)
def test_ctrl_c_and_termination_stop_the_workers(tmp_path, sig, to, code):
    """Ctrl-C in a terminal signals the whole process group; ``kill -INT`` the main only.

    ``kill`` (SIGTERM, as a batch system or ``timeout`` sends) and a closed terminal
    (SIGHUP) end the run too, and stop its workers: by their default action they ended the
    main process alone, and the workers went on with the galaxies, unreaped.
    """
    with _two_workers_busy(tmp_path) as (proc, line, left):
        if to == "group":
            os.killpg(proc.pid, sig)
        else:
            os.kill(proc.pid, sig)
        _, err = proc.communicate(timeout=30)
    assert left == []
    assert proc.returncode == code
    if sig == signal.SIGINT:
        assert "Aborted" in err
    assert "Traceback" not in err
    # never half-written: each folder holds exactly the outputs its steps' manifests record,
    # with their recorded hashes (a galaxy stopped in the middle keeps the steps it finished,
    # as one run on Ctrl-C does)
    first = tmp_path / line.split(":")[0].strip().replace("G_", "out_")
    assert (first / "alignment.json").exists()
    for folder in tmp_path.glob("out_*"):
        # (a commit cut short may leave a hidden .NAME.XXXXXXXX.tmp, removed by the next run)
        files = {f.name for f in folder.iterdir() if f.is_file() and not f.name.startswith(".")}
        recorded = {}
        for manifest in (folder / ".xrbid").glob("*.json"):
            recorded.update(json.loads(manifest.read_text())["outputs"])
        assert files == set(recorded), folder
        for name, digest in recorded.items():
            assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    # the galaxies stopped in the middle unwound (as Ctrl-C does one run): no staging left
    assert list(tmp_path.glob("out_*/.xrbid/staging-*")) == []


def test_termination_handlers_are_put_back(tmp_path):
    paths = _galaxies(tmp_path, ["a"])
    before = signal.getsignal(signal.SIGTERM)
    seen = []
    run_many(
        paths,
        workers=1,
        until="xray",
        on_result=lambda r: seen.append(signal.getsignal(signal.SIGTERM)),
    )
    assert signal.getsignal(signal.SIGTERM) is before
    if before == signal.SIG_DFL:
        assert seen[0] != signal.SIG_DFL  # during the run, SIGTERM unwinds it


def test_workers_end_when_the_main_process_is_killed(tmp_path):
    """SIGKILL (or the out-of-memory killer) ends the main process with no handler run."""
    with _two_workers_busy(tmp_path) as (proc, _line, left):
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert left == []
