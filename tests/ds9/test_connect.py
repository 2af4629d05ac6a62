"""DS9 absent, gone or frozen (xrbid/ds9/connect.py and the transports): every case ends within
its time limit, with one line that names the real cause, and leaves nothing running.

Each fault is made for real: processes started by the test are stopped (SIGSTOP) or killed by
their pid; the XPA name server and the SAMP hub of a case are private to it (their own port or
lock file), so that the DS9s of other test sessions on the machine play no part.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tests.ds9_session import free_port_pair, start_ds9, stop_process, wait_until
from xrbid.ds9 import DS9, find_ds9
from xrbid.ds9._process import ds9_processes, xpans_processes
from xrbid.errors import DS9Error

pytestmark = pytest.mark.ds9


@pytest.fixture(scope="module")
def a478(testdata: Path) -> Path:
    return testdata / "hst-wfpc2-abell478" / "a478hst-cutout.fits"


@pytest.fixture
def nowhere(ds9_server, tmp_path) -> dict[str, str]:
    """An environment in which no DS9 can be found: an XPA name-server port nobody listens on
    and a SAMP lock file that does not exist."""
    port = free_port_pair()
    return dict(
        os.environ,
        XPA_NSINET=f"127.0.0.1:{port}",
        XPA_METHOD="inet",
        SAMP_HUB=f"std-lockurl:{(tmp_path / 'no-hub.lock').as_uri()}",
        HOME=str(tmp_path),
    )


# Runs the xrbid command line as the `xrbid` script does, after importing what `ds9` commands
# import (the CLI, astropy, pyvo), and writes how long the command itself took, from after those
# imports to the exit, to the file named by its first argument. On a loaded machine Python's
# start-up alone can take several seconds; the time limits are about xrbid's waiting, so they
# are checked on this time, while the pipes (a detached child holding them) are checked by
# `subprocess.run` returning at all, within a bound that allows for the start-up.
LAUNCHER = textwrap.dedent(
    """
    import atexit, sys, time
    import astropy.io.fits, astropy.wcs, pyvo.samp
    import xrbid.ds9, xrbid.ds9.connect, xrbid.ds9.samp, xrbid.ds9.session, xrbid.ds9.xpa
    from xrbid.cli.main import main
    took_file, sys.argv = sys.argv[1], ["xrbid", *sys.argv[2:]]
    t0 = time.monotonic()
    atexit.register(lambda: open(took_file, "w").write(repr(time.monotonic() - t0)))
    sys.exit(main())
    """
)


def run_cli(args: list[str], env: dict[str, str], limit: float) -> tuple[subprocess.Popen, str]:
    """Run ``xrbid ARGS`` with its output on pipes, as ``out=$(xrbid ...)`` does: the call
    returns only when every process holding the pipes has closed them. The command itself
    (without Python's start-up and imports) must end within ``limit`` seconds."""
    with tempfile.TemporaryDirectory(prefix="xrbid-took-") as folder:
        took_file = Path(folder) / "took"
        out = subprocess.run(
            [sys.executable, "-c", LAUNCHER, str(took_file), *args],
            capture_output=True,
            text=True,
            env=env,
            stdin=subprocess.DEVNULL,
            timeout=limit + 120,  # start-up under load, and a hang is still caught
            check=False,
        )
        took = float(took_file.read_text())
    assert took < limit, f"took {took:.1f} s: {out.stdout}{out.stderr}"
    return out, (out.stdout + out.stderr).strip()


def _one_error_line(text: str) -> str:
    lines = text.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), text
    assert "Traceback" not in text
    return lines[0]


def _xpans_on(port: int) -> list[int]:
    return [p.pid for p in xpans_processes() if p.title == str(port)]


# --------------------------------------------------------------------------------------------
# processes are DS9 by their executable
# --------------------------------------------------------------------------------------------


def test_ds9_processes_by_executable(ds9_server) -> None:
    """The session's DS9 (wish running ds9.tcl) is found; a process with the word ds9 in its
    arguments, as `xrbid ds9 show` has, is not."""
    impostor = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "ds9", "show", "-title", "ds9"],
        start_new_session=True,
    )
    try:
        found = {p.pid: p for p in ds9_processes()}
        assert ds9_server.process.pid in found
        assert found[ds9_server.process.pid].title == ds9_server.title
        assert not found[ds9_server.process.pid].stopped
        assert impostor.pid not in found
    finally:
        stop_process(impostor)


# --------------------------------------------------------------------------------------------
# absent
# --------------------------------------------------------------------------------------------


def test_no_ds9_returns_at_once_and_leaves_nothing(nowhere, a478) -> None:
    """No name server, no hub: one line, exit 1, well within the time limit, no xpans started
    (a detached one would hold the pipes and the call would not return), and no blame on the
    xrbid process itself."""
    port = nowhere["XPA_NSINET"].rsplit(":", 1)[1]
    out, text = run_cli(["ds9", "show", str(a478), "--timeout", "5"], nowhere, limit=15)
    assert out.returncode == 1
    line = _one_error_line(text)
    # other DS9s may run on this machine (other test sessions): a pid in the message must be
    # one of them, never the xrbid process itself
    assert line.startswith("Error: no DS9")
    named = [int(w.strip("():,;")) for w in line.split("pid ")[1:] for w in [w.split()[0]]]
    assert set(named) <= {p.pid for p in ds9_processes()}  # a real DS9, never xrbid itself
    assert _xpans_on(int(port)) == []


def test_ds9_not_installed(nowhere, a478, tmp_path) -> None:
    """No ds9 (and no ps) on PATH: the install line, at once, for --start and without."""
    bare = tmp_path / "bin"
    bare.mkdir()
    env = dict(nowhere, PATH=str(bare))
    for extra in ([], ["--start"]):
        out, text = run_cli(["ds9", "show", str(a478), *extra], env, limit=15)
        assert out.returncode == 1
        line = _one_error_line(text)
        assert "SAOImage DS9 is not installed" in line and "apt install saods9" in line


def test_start_without_a_display(nowhere, a478) -> None:
    env = dict(nowhere)
    env.pop("DISPLAY", None)
    out, text = run_cli(
        ["ds9", "show", str(a478), "--start", "--target", "xrbid-no-display"], env, limit=30
    )
    assert out.returncode == 1
    line = _one_error_line(text)
    assert "DS9 exited at start-up" in line and "DISPLAY" in line
    assert not [p for p in ds9_processes() if p.title == "xrbid-no-display"]


def test_invalid_option_leaves_ds9_untouched(ds9_server, a478) -> None:
    """`--zoom -2` is refused before DS9 is asked anything: no frame, no image."""
    with DS9(ds9_server.title, transport="xpa", timeout=10) as session:
        session.delete_frames()
        out, text = run_cli(
            ["ds9", "show", str(a478), "--zoom", "-2", "--target", ds9_server.title],
            dict(os.environ),
            limit=20,
        )
        assert out.returncode == 2
        assert "--zoom" in text and "positive" in text
        assert session.frames() == []


# --------------------------------------------------------------------------------------------
# frozen name server, frozen DS9, dead hub
# --------------------------------------------------------------------------------------------


@pytest.fixture
def private_xpans(tmp_path):
    """An XPA name server of the test's own, on a free port pair; stopped afterwards."""
    port = free_port_pair()
    server = subprocess.Popen(
        ["xpans", "-p", str(port), "-l", str(tmp_path / "xpans.log")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_until(lambda: _xpans_on(port) or server.poll() is not None, 10, "xpans")
    assert server.poll() is None
    yield port, server
    stop_process(server)


def test_frozen_name_server_is_named(ds9_server, private_xpans, a478) -> None:
    port, server = private_xpans
    env = dict(os.environ, XPA_NSINET=f"127.0.0.1:{port}", XPA_METHOD="inet")
    os.kill(server.pid, signal.SIGSTOP)
    out, text = run_cli(
        ["ds9", "show", str(a478), "--transport", "xpa", "--timeout", "3"], env, limit=3 + 6
    )
    assert out.returncode == 1
    line = _one_error_line(text)
    assert f"xpans (pid {server.pid}) is stopped" in line
    assert f"kill -CONT {server.pid}" in line


@pytest.fixture
def frozen_ds9(ds9_server, spare_ds9_factory):
    """A DS9 of the test's own, registered over XPA and SAMP, then stopped with SIGSTOP."""

    def make(title: str):
        process = spare_ds9_factory(title)
        wait_until(
            lambda: title in [t.name for t in find_ds9("samp", timeout=5)], 30, "DS9 on SAMP"
        )
        os.kill(process.pid, signal.SIGSTOP)
        return process

    return make


@pytest.fixture
def spare_ds9_factory(ds9_server):
    started: list[subprocess.Popen] = []

    def start(title: str, env=None, args: tuple[str, ...] = (), wait_xpa: bool = True):
        process = start_ds9(title, args=args, env=env, wait_xpa=wait_xpa)
        started.append(process)
        return process

    yield start
    for process in started:
        stop_process(process)  # SIGCONT first, then terminate


@pytest.mark.parametrize("transport", ["xpa", "samp"])
@pytest.mark.filterwarnings("ignore::pyvo.samp.errors.SAMPWarning")
def test_stopped_ds9_is_blamed_not_the_name_server(frozen_ds9, a478, transport) -> None:
    title = f"xrbid-frozen-{transport}"
    process = frozen_ds9(title)
    out, text = run_cli(
        ["ds9", "show", str(a478), "--target", title, "--transport", transport, "--timeout", "3"],
        dict(os.environ),
        limit=3 + 7,
    )
    assert out.returncode == 1
    line = _one_error_line(text)
    assert f"DS9 {title!r} (pid {process.pid}) is stopped" in line
    assert f"kill -CONT {process.pid}" in line
    assert "name server" not in line and "xpans" not in line and "registered" not in line


HUB_SCRIPT = textwrap.dedent(
    """
    import time
    from pyvo.samp import SAMPHubServer
    hub = SAMPHubServer(web_profile=False, label="xrbid test hub")
    hub.start()
    print("ready", flush=True)
    while True:
        time.sleep(1)
    """
)


@pytest.mark.filterwarnings("ignore::pyvo.samp.errors.SAMPWarning")
def test_samp_hub_killed_mid_command(ds9_server, spare_ds9_factory, tmp_path, monkeypatch) -> None:
    """A hub killed while DS9 works on a command: the hub is named, within a second or two,
    not after the time limit, and DS9 is not blamed."""
    lock = tmp_path / "hub.lock"
    monkeypatch.setenv("SAMP_HUB", f"std-lockurl:{lock.as_uri()}")
    hub = subprocess.Popen(
        [sys.executable, "-c", HUB_SCRIPT],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        wait_until(lambda: hub.stdout.readline().strip() == "ready", 30, "the SAMP hub")
        title = "xrbid-hub-victim"
        ds9 = spare_ds9_factory(title, args=("-xpa", "no"), wait_xpa=False)
        wait_until(
            lambda: title in [t.name for t in find_ds9("samp", timeout=5)], 30, "DS9 on the hub"
        )
        session = DS9(title, transport="samp", timeout=10)
        assert session.frames() == [1]
        os.kill(ds9.pid, signal.SIGSTOP)  # DS9 is busy with the command ...
        threading.Timer(0.5, os.kill, (hub.pid, signal.SIGKILL)).start()  # ... the hub dies
        t0 = time.monotonic()
        with pytest.raises(DS9Error) as err:
            session.frames()
        took = time.monotonic() - t0
        os.kill(ds9.pid, signal.SIGCONT)
    finally:
        stop_process(hub)
    message = str(err.value)
    assert "the SAMP hub stopped answering" in message, message
    assert "frozen" not in message
    assert took < 3.0


@pytest.mark.parametrize("transport", ["xpa", "samp"])
@pytest.mark.filterwarnings("ignore::pyvo.samp.errors.SAMPWarning")
def test_ds9_stopped_mid_session_is_named(ds9_server, spare_ds9_factory, transport) -> None:
    title = f"xrbid-stopped-{transport}"
    process = spare_ds9_factory(title)
    if transport == "samp":
        wait_until(
            lambda: title in [t.name for t in find_ds9("samp", timeout=5)], 30, "DS9 on SAMP"
        )
    session = DS9(title, transport=transport, timeout=2)
    assert session.frames() == [1]
    os.kill(process.pid, signal.SIGSTOP)
    t0 = time.monotonic()
    with pytest.raises(DS9Error) as err:
        session.frames()
    assert time.monotonic() - t0 < 2 + 1.5
    message = str(err.value)
    assert f"(pid {process.pid}) is stopped" in message and "kill -CONT" in message
    with pytest.raises(DS9Error, match="closed"):
        session.frames()


def test_no_pyds9_import_and_no_xpans_left(nowhere) -> None:
    """Finding DS9 over XPA neither imports pyds9 (whose import starts a detached xpans) nor
    starts a name server."""
    script = textwrap.dedent(
        """
        import sys
        from xrbid.ds9 import find_ds9
        print(find_ds9("xpa", timeout=3), "pyds9" in sys.modules)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=nowhere,
        timeout=30,
        check=False,
    )
    assert out.stdout.strip() == "[] False", out.stdout + out.stderr
    port = nowhere["XPA_NSINET"].rsplit(":", 1)[1]
    assert _xpans_on(int(port)) == []
    assert shutil.which("xpans") is not None  # the check above could have seen one


def test_snapshot_over_inet_xpa_names_the_cause(
    ds9_server, private_xpans, spare_ds9_factory, a478, tmp_path, monkeypatch
) -> None:
    """DS9 runs no script over XPA_METHOD=inet, so the PNG writer cannot be loaded: a snapshot
    then fails in one line saying so, not with DS9's bare "This function is not available"."""
    port, _ = private_xpans
    monkeypatch.setenv("XPA_NSINET", f"127.0.0.1:{port}")
    monkeypatch.setenv("XPA_METHOD", "inet")
    spare_ds9_factory("xrbid-inet", env=dict(os.environ), args=("-samp", "no"), wait_xpa=False)
    wait_until(
        lambda: "xrbid-inet" in [t.name for t in find_ds9("xpa", timeout=5)], 30, "DS9 on inet"
    )
    out = tmp_path / "view.png"
    with DS9("xrbid-inet", transport="xpa", timeout=10) as session:
        session.open_image(a478)
        try:
            session.snapshot(out)
        except DS9Error as exc:
            message = str(exc)
            assert "\n" not in message
            assert "XPA_METHOD=local" in message and "--transport samp" in message, message
            assert not out.exists()
        else:  # a DS9 build whose Tk loads the PNG writer by itself
            assert out.read_bytes()[:4] == b"\x89PNG"
