"""Figures drawn in a plotting process (xrbid.pipeline.render): same bytes, fallbacks, no leftovers.

Every test runs the real M101 chain and a real plotting process; the process is found among
this process's children by its command line, and stopped, killed or starved with real signals.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

import xrbid
from xrbid.errors import InputError, XrbidError
from xrbid.figures._jobs import alignment_job, decode_arrays, encode_arrays, render
from xrbid.pipeline import render as render_mod
from xrbid.pipeline import run_galaxy, run_many
from xrbid.pipeline.state import STATE_DIR

from .conftest import OPTICAL, m101_toml

WORKER = "xrbid.figures._worker"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cmdline(p: psutil.Process) -> str:
    try:
        return " ".join(p.cmdline())
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return ""


def _workers() -> list[psutil.Process]:
    """The plotting processes running below this one."""
    return [p for p in psutil.Process().children(recursive=True) if WORKER in _cmdline(p)]


def _gone(pid: int) -> bool:
    """Whether ``pid`` is neither running nor a zombie (it ended and was reaped)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_DEAD
    except psutil.NoSuchProcess:
        return True


class _Watch:
    """Record every plotting process that exists below this process while in the block."""

    def __init__(self) -> None:
        self.seen: set[int] = set()
        self._stop = threading.Event()

    def __enter__(self) -> _Watch:
        def poll() -> None:
            while not self._stop.is_set():
                self.seen.update(p.pid for p in _workers())
                time.sleep(0.01)

        self._thread = threading.Thread(target=poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """alignment.png and the manifests of an M101 run drawn in this process."""
    folder = tmp_path_factory.mktemp("inprocess")
    config = folder / "m101.toml"
    config.write_text(m101_toml(extra='figures = ["alignment"]'), encoding="utf-8")
    run_galaxy(config)
    out = folder / "out"
    return {
        "png": (out / "alignment.png").read_bytes(),
        "manifests": {p.stem: json.loads(p.read_text()) for p in (out / STATE_DIR).glob("*.json")},
    }


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "m101.toml"
    path.write_text(m101_toml(extra='figures = ["alignment"]'), encoding="utf-8")
    return path


def _staging(config: Path) -> Path:
    return next((config.parent / "out" / STATE_DIR).glob("staging-*"))


def _at(step: str, action):
    """A progress callback that calls ``action()`` once, as ``step`` starts."""

    def progress(name, status):
        if status.step == step and status.state == "running":
            action()

    return progress


def _same(manifest: dict, ref: dict) -> bool:
    keep = ("step", "key", "params", "inputs", "outputs", "summary")
    return {k: manifest[k] for k in keep} == {k: ref[k] for k in keep}


def _check_outputs(config: Path, reference: dict) -> None:
    """The run's figure and manifests are those of the in-process run; the hash is the file's."""
    out = config.parent / "out"
    png = out / "alignment.png"
    assert png.read_bytes() == reference["png"]
    align = json.loads((out / STATE_DIR / "align.json").read_text())
    assert align["outputs"]["alignment.png"] == _sha(png)
    for step, ref in reference["manifests"].items():
        if step != "report":  # it records when it was written
            assert _same(json.loads((out / STATE_DIR / f"{step}.json").read_text()), ref), step
    assert not list((out / STATE_DIR).glob("staging-*"))


# ---------------------------------------------------------------------------------------
# the plotting process draws the same bytes


def test_plotting_process_draws_the_in_process_bytes_and_manifests(config, reference):
    seen = {}

    def look():
        seen["workers"] = _workers()

    result = run_galaxy(config, figure_process=True, progress=_at("radii", look))
    assert result.ok
    # the plotting process was running while the steps after the alignment ran
    assert len(seen["workers"]) == 1
    pid = seen["workers"][0].pid
    _check_outputs(config, reference)
    assert _gone(pid)
    # the figure is no input of the steps after it; it is one of the report
    out = config.parent / "out" / STATE_DIR
    assert "align/alignment.png" not in json.loads((out / "radii.json").read_text())["inputs"]
    assert "align/alignment.png" in json.loads((out / "report.json").read_text())["inputs"]
    # a re-run (either way) finds everything up to date
    again = run_galaxy(config, figure_process=True)
    assert {s.state for s in again.steps} == {"up to date"}
    assert {s.state for s in run_galaxy(config).steps} == {"up to date"}


_PROBE = """
import json, sys
from xrbid.cli.main import cli
try:
    cli(sys.argv[1:], prog_name="xrbid")
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "matplotlib": "matplotlib" in sys.modules}))
"""


def test_command_line_run_draws_the_figure_without_importing_matplotlib(config, reference):
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, "run", str(config), "-q"],
        capture_output=True,
        text=True,
        check=True,
    )
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    # the run's process never imported matplotlib: the plotting process drew the figure
    assert probe == {"code": 0, "matplotlib": False}
    _check_outputs(config, reference)


def test_alignment_job_renders_the_bytes_of_plot_residuals(tmp_path):
    cal = xrbid.read_regions(OPTICAL / "M101_astrocorrect.reg")[["ra", "dec"]]
    # the X-ray side: the same sources, moved by a known 0.5" to the north, 0.2" to the east
    xray = cal.copy()
    xray["dec"] += 0.5 / 3600
    xray["ra"] += 0.2 / 3600 / np.cos(np.radians(xray["dec"]))
    sol = xrbid.align_median(xray, cal, max_sep=2.0)
    assert sol.shift_y == pytest.approx(-0.5, abs=1e-3)
    sol.plot_residuals(tmp_path / "public.png", field="M101")
    kind, values, arrays = alignment_job(sol, field="M101")
    values = json.loads(json.dumps(values))
    arrays = decode_arrays(encode_arrays(arrays))
    render(kind, values, arrays, tmp_path / "job.png")
    assert (tmp_path / "job.png").read_bytes() == (tmp_path / "public.png").read_bytes()


def _m101_solution():
    """The median alignment of the guide's M101 calibrator positions, moved by 0.3" south."""
    cal = xrbid.read_regions(OPTICAL / "M101_astrocorrect.reg")[["ra", "dec"]]
    xray = cal.copy()
    xray["dec"] -= 0.3 / 3600
    return xrbid.align_median(xray, cal, max_sep=2.0)


@pytest.mark.parametrize("suffix", [".png", ".pdf", ".svg"])
def test_plotting_process_writes_each_format_as_this_process_does(tmp_path, monkeypatch, suffix):
    import matplotlib

    # dates and SVG ids made reproducible, in this process and (by the environment) in the other
    rc = tmp_path / "rc"
    rc.mkdir()
    (rc / "matplotlibrc").write_text("svg.hashsalt: xrbid-test\n")
    monkeypatch.setenv("MATPLOTLIBRC", str(rc))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    staging = tmp_path / "staging"
    staging.mkdir()
    kind, values, arrays = alignment_job(_m101_solution(), field="M101")
    values = json.loads(json.dumps(values))
    name = f"alignment{suffix}"
    with matplotlib.rc_context({"svg.hashsalt": "xrbid-test"}):
        render(kind, values, arrays, tmp_path / name)
    figures = render_mod.FigureProcess(staging)
    try:
        assert figures.start()
        assert figures.submit(name, kind, values, arrays)
        (job,) = figures.take()
        answer = figures._wait(job.id, time.monotonic() + 60)
        assert answer is not None and answer["ok"], answer
        assert figures.collect(job, time.monotonic() + 60) == []
        pid = figures.pid
    finally:
        figures.close()
    assert _gone(pid)
    assert (staging / name).read_bytes() == (tmp_path / name).read_bytes()


# ---------------------------------------------------------------------------------------
# fallbacks: the figure is drawn in the run's process, the same bytes, nothing left behind


def test_plotting_process_that_cannot_start(config, reference, monkeypatch):
    monkeypatch.setattr(sys, "executable", str(config.parent / "no-such-python"))
    with _Watch() as watch:
        assert run_galaxy(config, figure_process=True).ok
    assert watch.seen == set()
    _check_outputs(config, reference)


def test_plotting_process_that_fails_to_start(config, reference, monkeypatch):
    # the interpreter starts, but the module it is to run is not there: it ends at once
    monkeypatch.setattr(render_mod, "WORKER", "xrbid.figures.no_such_module")
    before = {p.pid for p in psutil.Process().children()}
    assert run_galaxy(config, figure_process=True).ok
    _check_outputs(config, reference)
    # nothing new below this process, not even a zombie
    assert {p.pid for p in psutil.Process().children()} <= before


def test_plotting_process_killed_after_the_figure_was_sent(config, reference):
    procs = {}

    def stop():
        (procs["worker"],) = _workers()
        procs["worker"].send_signal(signal.SIGSTOP)  # it cannot answer the alignment

    def kill():
        procs["worker"].send_signal(signal.SIGKILL)

    def progress(name, status):
        if status.state == "running":
            {"optical": stop, "radii": kill}.get(status.step, lambda: None)()

    assert run_galaxy(config, figure_process=True, progress=progress).ok
    _check_outputs(config, reference)
    assert _gone(procs["worker"].pid)


def test_plotting_process_that_hangs(config, reference, monkeypatch):
    monkeypatch.setattr(render_mod, "TIMEOUT", 1.5)
    procs = {}

    def stop():
        (procs["worker"],) = _workers()
        procs["worker"].send_signal(signal.SIGSTOP)

    t0 = time.monotonic()
    assert run_galaxy(config, figure_process=True, progress=_at("optical", stop)).ok
    assert time.monotonic() - t0 < 60  # it was not waited for beyond the timeout
    _check_outputs(config, reference)
    assert _gone(procs["worker"].pid)  # killed although stopped, and reaped


def test_plotting_process_that_answers_with_an_error(config, reference):
    procs = {}

    def block():
        (procs["worker"],) = _workers()
        # where it writes is a file now: it fails to write, and says so
        folder = _staging(config) / render_mod.FOLDER
        shutil.rmtree(folder)
        folder.write_text("not a folder\n")

    assert run_galaxy(config, figure_process=True, progress=_at("optical", block)).ok
    _check_outputs(config, reference)
    assert _gone(procs["worker"].pid)


def test_figure_that_cannot_be_drawn_anywhere_fails_the_run_in_one_line(config):
    procs = {}

    def block():
        (procs["worker"],) = _workers()
        staging = _staging(config)
        folder = staging / render_mod.FOLDER
        shutil.rmtree(folder)
        folder.write_text("not a folder\n")
        (staging / "alignment.png").mkdir()  # and this process cannot write it either

    with pytest.raises(XrbidError) as err:
        run_galaxy(config, figure_process=True, progress=_at("optical", block))
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("M101: step align: ") and "alignment.png" in message
    out = config.parent / "out"
    # the steps before it keep their outputs; the alignment (without its figure) is not kept
    assert (out / STATE_DIR / "optical.json").is_file()
    assert not (out / STATE_DIR / "align.json").exists()
    assert not (out / "alignment.png").exists() and not (out / "alignment.json").exists()
    assert not list((out / STATE_DIR).glob("staging-*"))
    assert _gone(procs["worker"].pid)


# ---------------------------------------------------------------------------------------
# a run that stops: the plotting process ends with it


def _alignment_kept_with_its_figure(out, reference, not_run):
    """The alignment committed with its figure (the reference bytes, hashed in its manifest);
    step ``not_run`` not committed; no staging folder left."""
    align = json.loads((out / STATE_DIR / "align.json").read_text())
    assert (out / "alignment.png").read_bytes() == reference["png"]
    assert align["outputs"]["alignment.png"] == _sha(out / "alignment.png")
    assert not (out / STATE_DIR / f"{not_run}.json").exists()
    assert not list((out / STATE_DIR).glob("staging-*"))


@pytest.mark.parametrize("stop", [KeyboardInterrupt, InputError])
def test_plotting_process_ends_with_an_interrupted_or_failed_run(config, reference, stop):
    procs = {}

    def interrupt():
        (procs["worker"],) = _workers()
        raise stop("stopped at the radii")

    with pytest.raises(stop):
        run_galaxy(config, figure_process=True, progress=_at("radii", interrupt))
    assert _gone(procs["worker"].pid)
    out = config.parent / "out"
    # the alignment finished: it is kept, its figure drawn and hashed
    _alignment_kept_with_its_figure(out, reference, not_run="radii")


def test_ctrl_c_at_the_terminal_leaves_no_plotting_process(config):
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "xrbid"), "run", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # a terminal's foreground group, as Ctrl-C reaches it
    )
    try:
        run = psutil.Process(proc.pid)
        worker = None
        deadline = time.monotonic() + 60
        while worker is None and time.monotonic() < deadline and proc.poll() is None:
            found = [p for p in run.children() if WORKER in _cmdline(p)]
            worker = found[0] if found else None
            time.sleep(0.005)
        assert worker is not None, "no plotting process was started"
        os.killpg(proc.pid, signal.SIGINT)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0
    # it ended before the run did (the run reaped it): not a moment later, as an orphan
    assert _gone(worker.pid)


# ---------------------------------------------------------------------------------------
# when no plotting process is started


def test_no_plotting_process_without_figures_or_with_nothing_to_draw(tmp_path):
    config = tmp_path / "m101.toml"
    config.write_text(m101_toml(extra="figures = []"), encoding="utf-8")
    with _Watch() as watch:
        assert run_galaxy(config, figure_process=True).ok
    assert watch.seen == set()
    assert not (tmp_path / "out" / "alignment.png").exists()
    # with the figure asked for, it starts; a re-run with nothing to draw starts none
    config.write_text(m101_toml(extra='figures = ["alignment"]'), encoding="utf-8")
    with _Watch() as watch:
        assert run_galaxy(config, figure_process=True).ok
    assert len(watch.seen) == 1
    with _Watch() as watch:
        again = run_galaxy(config, figure_process=True)
    assert {s.state for s in again.steps} == {"up to date"}
    assert watch.seen == set()
    # the report alone runs again: it draws nothing
    with _Watch() as watch:
        forced = run_galaxy(config, figure_process=True, force=["report"])
    assert [s.step for s in forced.steps if s.state == "ran"] == ["report"]
    assert watch.seen == set()


def test_many_galaxies_start_no_plotting_process(tmp_path):
    configs = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.toml"
        path.write_text(
            m101_toml(folder=f"out_{name}", extra='figures = ["alignment"]'), encoding="utf-8"
        )
        configs.append(path)
    with _Watch() as watch:
        results = run_many(configs, workers=2, use_dask=True)
    assert all(r.ok for r in results), [r.error for r in results]
    assert watch.seen == set()
    for name in ("a", "b"):
        assert (tmp_path / f"out_{name}" / "alignment.png").stat().st_size > 0


# ---------------------------------------------------------------------------------------
# a job is data


def test_a_job_is_data_never_code(tmp_path):
    # arrays holding Python objects would need pickle: refused
    with pytest.raises(ValueError):
        decode_arrays(encode_arrays({"x": np.array([{"a": 1}], dtype=object)}))
    staging = tmp_path / "staging"
    staging.mkdir()
    figures = render_mod.FigureProcess(staging)
    try:
        assert figures.start()
        # a kind that names no drawing function is an error answer, and nothing is run
        assert figures.submit("x.png", "os.system", {"title": "touch pwned"}, {})
        (job,) = figures.take()
        answer = figures._wait(job.id, time.monotonic() + 60)
        assert answer is not None and answer["ok"] is False
        assert "no figure kind 'os.system'" in answer["error"]
        with pytest.raises(InputError, match="no figure kind"):
            figures.collect(job, time.monotonic() + 60)
    finally:
        figures.close()
    assert not (staging / "x.png").exists() and not (tmp_path / "pwned").exists()


# ---------------------------------------------------------------------------------------
# the CMD of a run on images, drawn the same way


def _goodsn(tmp_path: Path, folder: str) -> Path:
    root = Path(__file__).resolve().parents[2]
    text = (root / "examples" / "goodsn.toml").read_text()
    text = text.replace('"../testdata/', f'"{root / "testdata"}/')
    text = text.replace('folder = "../demo-output/goodsn"', f'folder = "{tmp_path / folder}"')
    text += '\nfigures = ["cmd"]\n'
    path = tmp_path / f"{folder}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_cmd_of_a_run_on_images_drawn_by_the_plotting_process(tmp_path):
    run_galaxy(_goodsn(tmp_path, "here"))
    seen = {}

    def look():
        seen["workers"] = _workers()

    there = _goodsn(tmp_path, "there")
    assert run_galaxy(there, figure_process=True, progress=_at("report", look)).ok
    assert len(seen["workers"]) == 1
    assert _gone(seen["workers"][0].pid)
    here, there = tmp_path / "here", tmp_path / "there"
    assert (there / "cmd.png").read_bytes() == (here / "cmd.png").read_bytes()
    m_here = json.loads((here / STATE_DIR / "photometry.json").read_text())
    m_there = json.loads((there / STATE_DIR / "photometry.json").read_text())
    assert m_there["outputs"] == m_here["outputs"]
    assert m_there["outputs"]["cmd.png"] == _sha(there / "cmd.png")
    assert m_there["summary"] == m_here["summary"]
    # the job of a photometry table draws what plot_cmd draws (the photometry read back)
    from xrbid.figures import plot_cmd, save_figure
    from xrbid.figures._jobs import cmd_job

    phot = xrbid.read_table(here / "photometry.ecsv")
    for system in ("vega", None):
        save_figure(plot_cmd(phot, "F606W-F814W", system=system), tmp_path / f"p{system}.png")
        kind, values, arrays = cmd_job(phot, "F606W-F814W", system=system)
        values, arrays = json.loads(json.dumps(values)), decode_arrays(encode_arrays(arrays))
        render(kind, values, arrays, tmp_path / f"j{system}.png")
        assert (tmp_path / f"j{system}.png").read_bytes() == (
            tmp_path / f"p{system}.png"
        ).read_bytes()


# ---------------------------------------------------------------------------------------
# Ctrl-C at any moment: the plotting process ends with the run, and no step is kept
# without its figure


def test_ctrl_c_while_the_run_waits_for_the_figure_keeps_it(config, reference, monkeypatch):
    wait = render_mod.FigureProcess._wait
    calls = []

    def interrupted_once(self, job_id, deadline):
        calls.append(job_id)
        if len(calls) == 1:  # Ctrl-C lands while the run waits, before the report
            raise KeyboardInterrupt
        return wait(self, job_id, deadline)

    monkeypatch.setattr(render_mod.FigureProcess, "_wait", interrupted_once)
    with _Watch() as watch, pytest.raises(KeyboardInterrupt):
        run_galaxy(config, figure_process=True)
    assert len(calls) == 2  # the figure was waited for again before the commit
    assert len(watch.seen) == 1 and _gone(watch.seen.pop())
    out = config.parent / "out"
    # the alignment is kept with its figure, drawn and hashed; the report did not run
    _alignment_kept_with_its_figure(out, reference, not_run="report")
    # the next run keeps the alignment and its figure, and writes the report
    monkeypatch.setattr(render_mod.FigureProcess, "_wait", wait)
    again = run_galaxy(config, figure_process=True)
    assert [s.step for s in again.steps if s.state == "ran"] == ["report"]
    _check_outputs(config, reference)


def test_ctrl_c_just_after_the_plotting_process_started_ends_it(config, monkeypatch):
    start = render_mod.FigureProcess.start
    pids = []

    def start_then_interrupted(self):
        assert start(self)
        pids.append(self.pid)
        raise KeyboardInterrupt  # lands as start() returns, before any step

    monkeypatch.setattr(render_mod.FigureProcess, "start", start_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_galaxy(config, figure_process=True)
    (pid,) = pids
    assert pid is not None and _gone(pid)  # ended and reaped by the run, not left running


# ---------------------------------------------------------------------------------------
# a figure that cannot be drawn here is one line; the plotting process works where the run
# does


@pytest.mark.parametrize("process", ["none", "cannot start"])
def test_figure_drawn_here_that_fails_is_one_line(config, monkeypatch, process):
    from xrbid.figures import _jobs

    def broken(values, arrays):
        raise RuntimeError("no canvas")

    monkeypatch.setitem(_jobs.KINDS, "alignment", broken)
    if process == "cannot start":
        monkeypatch.setattr(sys, "executable", str(config.parent / "no-such-python"))
    with pytest.raises(XrbidError) as err:
        run_galaxy(config, figure_process=process != "none")
    assert str(err.value) == (
        "M101: step align: cannot draw alignment.png (RuntimeError: no canvas)"
    )
    out = config.parent / "out"
    assert (out / STATE_DIR / "optical.json").is_file()
    assert not (out / STATE_DIR / "align.json").exists() and not (out / "alignment.png").exists()


def test_figure_that_cannot_be_moved_into_place_is_one_line(config):
    def block():
        (_staging(config) / "alignment.png").mkdir()  # the drawn file cannot replace it

    with pytest.raises(XrbidError) as err:
        run_galaxy(config, figure_process=True, progress=_at("optical", block))
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("M101: step align: ") and "alignment.png" in message
    out = config.parent / "out"
    assert not (out / STATE_DIR / "align.json").exists() and not (out / "alignment.png").exists()
    assert not list((out / STATE_DIR).glob("staging-*"))


def test_matplotlib_that_cannot_load_is_one_line_at_the_command_line(config):
    # matplotlib refuses to import with an unknown MPLBACKEND: in the plotting process and here
    env = {**os.environ, "MPLBACKEND": "no-such-backend"}
    out = subprocess.run(
        [str(Path(sys.executable).parent / "xrbid"), "run", str(config), "-q"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode == 1
    assert out.stderr.startswith("Error: M101: step align: cannot draw alignment.png (ValueError")
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr


_IN_PROCESS = "import sys; from xrbid.pipeline import run_galaxy; run_galaxy(sys.argv[1])"


def test_plotting_process_reads_the_matplotlibrc_of_the_working_folder(
    tmp_path, monkeypatch, reference
):
    # matplotlib reads ./matplotlibrc first: the figure drawn in this process follows it
    work = tmp_path / "work"
    work.mkdir()
    (work / "matplotlibrc").write_text("axes.facecolor: yellow\nfont.size: 13\n")
    for name in ("here", "there"):
        (work / f"{name}.toml").write_text(
            m101_toml(folder=f"out_{name}", extra='figures = ["alignment"]'), encoding="utf-8"
        )
    # drawn in a fresh process of its own (this one imported matplotlib long ago)
    subprocess.run([sys.executable, "-c", _IN_PROCESS, "here.toml"], cwd=work, check=True)
    here = (work / "out_here" / "alignment.png").read_bytes()
    assert here != reference["png"]  # the working folder's matplotlibrc was read
    monkeypatch.chdir(work)
    with _Watch() as watch:
        assert run_galaxy(work / "there.toml", figure_process=True).ok
    assert len(watch.seen) == 1
    assert (work / "out_there" / "alignment.png").read_bytes() == here


def test_a_large_figure_for_a_process_that_does_not_read_holds_nothing_up(tmp_path):
    # 20,000 pairs: a job line of ~450 kB, far more than a pipe holds
    n = 20_000
    rng = np.random.default_rng(1)
    arrays = {"dx": rng.normal(size=n), "dy": rng.normal(size=n), "used": np.ones(n, bool)}
    values = {"shift": [0.1, -0.2], "std": [1.0, 1.0], "title": "many pairs", "dpi": 150}
    assert len(encode_arrays(arrays)) > 400_000
    render("alignment", values, arrays, tmp_path / "here.png")
    staging = tmp_path / "staging"
    staging.mkdir()
    figures = render_mod.FigureProcess(staging)
    pid, sent = None, None
    try:
        assert figures.start()
        pid = figures.pid
        os.kill(pid, signal.SIGSTOP)  # it hangs (or is still importing matplotlib)
        args = ("alignment.png", "alignment", values, arrays)
        sent = threading.Thread(target=figures.submit, args=args, daemon=True)
        sent.start()
        sent.join(timeout=5.0)
        assert not sent.is_alive()  # handed over, not written while the run waits
        (job,) = figures.take()
        assert figures.collect(job, time.monotonic() + 1.0) == []  # drawn here
    finally:
        if sent is not None and sent.is_alive():
            os.kill(pid, signal.SIGKILL)  # the write holds up the run: end it to end the test
        t0 = time.monotonic()
        figures.close()
    assert time.monotonic() - t0 < 10.0
    assert _gone(pid)  # killed although stopped, and reaped
    assert (staging / "alignment.png").read_bytes() == (tmp_path / "here.png").read_bytes()


def test_deciding_to_start_it_hashes_no_input_twice(config, monkeypatch):
    import xrbid.pipeline.run as run_mod

    assert run_galaxy(config).ok
    hashed = []
    real = run_mod.file_hash

    def counting(path):
        hashed.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(run_mod, "file_hash", counting)
    again = run_galaxy(config, figure_process=True)
    assert {s.state for s in again.steps} == {"up to date"}
    # the X-ray table (an input of the first step) is hashed once, although both the decision
    # whether to start a plotting process and the run itself need its hash
    assert hashed.count("cscresults_M101.vot") == 1
    # an input changed after its hash was taken is hashed again (its size and time changed)
    copy = config.parent / "table.vot"
    copy.write_bytes(b"<VOTABLE/>\n")
    hashes: dict = {}
    first = run_mod._input_hash(copy, hashes)
    with copy.open("ab") as f:
        f.write(b"\n")
    assert run_mod._input_hash(copy, hashes) != first
    assert run_mod._input_hash(copy, hashes) == hashlib.sha256(copy.read_bytes()).hexdigest()
