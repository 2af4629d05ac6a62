"""Session fixtures that start Xvfb, a pyvo SAMP hub and one real SAOImage DS9 for the DS9 tests.

The display, the SAMP hub (its lock file lives in a private folder named by ``SAMP_HUB``) and the
DS9 title are private to the test session, so a DS9 the user has open is never touched. When
``ds9``, ``Xvfb`` or the XPA tools are missing the DS9 tests are skipped with one line saying
what to install, except under CI (``CI=true``), where they fail instead: CI must run them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

INSTALL_LINE = (
    "DS9 tests need SAOImage DS9, the XPA tools and Xvfb: apt install saods9 xpa-tools xvfb "
    "(make system-deps)"
)


def _missing_tools() -> list[str]:
    return [tool for tool in ("ds9", "xpaset", "xpaaccess", "Xvfb") if shutil.which(tool) is None]


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI=true: DS9 tests must run)", pytrace=False)
    pytest.skip(reason)


def _free_display() -> int:
    for number in range(97, 200):
        if not (
            Path(f"/tmp/.X{number}-lock").exists() or Path(f"/tmp/.X11-unix/X{number}").exists()
        ):
            return number
    raise RuntimeError("no free X display number between :97 and :199")


@dataclass
class DS9Server:
    """What the session started: the X display, the SAMP hub, the DS9 title and process."""

    display: str
    title: str
    process: subprocess.Popen
    hub_lock: Path
    workdir: Path


def free_port_pair() -> int:
    """A port P such that P and P + 1 are free on 127.0.0.1 (an XPA name server takes both).

    Looked for below the ephemeral range, where the next port is not the next client socket.
    """
    import random
    import socket

    for port in random.Random().sample(range(20000, 30000, 2), 200):
        with socket.socket() as a, socket.socket() as b:
            try:
                a.bind(("127.0.0.1", port))
                b.bind(("0.0.0.0", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two free neighbouring ports between 20000 and 30000")


def wait_until(check, timeout: float, what: str, step: float = 0.1):
    """Poll ``check()`` until it returns a true value; fail the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _xpa_answers(title: str) -> bool:
    out = subprocess.run(
        ["xpaaccess", "-n", title], capture_output=True, text=True, timeout=10, check=False
    )
    return out.stdout.strip() not in ("", "0")


def start_ds9(
    title: str, args: tuple[str, ...] = (), env: dict[str, str] | None = None, wait_xpa=True
):
    """Start a DS9 titled ``title`` on the session display; wait until XPA sees it."""
    process = subprocess.Popen(
        ["ds9", "-title", title, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    if wait_xpa:
        wait_until(lambda: _xpa_answers(title), 30, f"DS9 {title} over XPA", step=0.2)
    return process


def stop_process(process: subprocess.Popen) -> None:
    """Stop a process this test session started (by its pid), waiting for it."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, 18)  # SIGCONT, in case a test froze it
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture(scope="session")
def ds9_server() -> Iterator[DS9Server]:
    """Xvfb + pyvo SAMP hub + one DS9 (reachable over XPA and SAMP) for the whole session."""
    missing = _missing_tools()
    if missing:
        _skip_or_fail(f"{INSTALL_LINE}; missing: {', '.join(missing)}")
    from pyvo.samp import SAMPHubServer

    workdir = Path(tempfile.mkdtemp(prefix="xrbid-ds9-tests-"))
    number = _free_display()
    xvfb = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    patch = pytest.MonkeyPatch()
    hub = None
    ds9 = None
    try:
        wait_until(lambda: Path(f"/tmp/.X11-unix/X{number}").exists(), 15, "Xvfb")
        patch.setenv("DISPLAY", f":{number}")
        hub_lock = workdir / "samp-hub.lock"
        patch.setenv("SAMP_HUB", f"std-lockurl:{hub_lock.as_uri()}")
        hub = SAMPHubServer(web_profile=False, label="xrbid tests")
        hub.start()
        title = f"xrbid-test-{os.getpid()}"
        ds9 = start_ds9(title)
        wait_until(lambda: _samp_has_ds9(title), 30, "DS9 registering with the SAMP hub")
        yield DS9Server(f":{number}", title, ds9, hub_lock, workdir)
    finally:
        if hub is not None:
            hub.stop()  # first, so that the hub's shutdown notice reaches a live DS9
        if ds9 is not None:
            stop_process(ds9)
        stop_process(xvfb)
        patch.undo()
        shutil.rmtree(workdir, ignore_errors=True)


def _samp_has_ds9(title: str) -> bool:
    from xrbid.ds9 import find_ds9

    return any(t.name == title for t in find_ds9("samp", timeout=5))


@pytest.fixture(params=["xpa", "samp"])
def ds9(request, ds9_server: DS9Server):
    """A DS9 session over each transport, on a DS9 cleared of frames."""
    from xrbid.ds9 import DS9

    session = DS9(ds9_server.title, transport=request.param, timeout=10)
    session.delete_frames()
    session.set("mode region")
    session.set("tile no")
    session.set("single")
    session.set("lock frame none")  # locks outlive frames; a lock left by one test disturbs
    session.set("lock crosshair none")  # the mouse handling of the next
    session.set("wcs align no")  # matching frames on WCS may turn the display north up
    session.set("colorbar yes")
    session.view_size(600, 600)
    yield session
    session.close()


def click_frame_centre(session, *, shift: bool = False, drag: tuple[int, int] = (0, 0)) -> None:
    """Click (or shift-click) the centre of DS9's current frame, as a user does with the mouse.

    The click is a pair of Tk button events on DS9's canvas, handled by DS9's own bindings: on a
    region it selects it (shift-click adds it to the selection), on empty sky it draws a new
    circle. With ``drag=(dx, dy)`` the button is held and moved by that many screen pixels
    before it is released (dragging a region moves it). It runs from DS9's event loop after the
    XPA/SAMP command has returned (as a real click does) and writes a file when handled, which
    is waited for here.
    """
    state = " -state 1" if shift else ""
    dx, dy = drag
    with tempfile.TemporaryDirectory(prefix="xrbid-click-") as folder:
        done = Path(folder) / "done"
        # a fresh event time per click, or Tk takes two clicks on one spot for a double click
        script = f"""
if {{![info exists ::xrbid_clicks]}} {{ set ::xrbid_clicks 0 }}
proc xrbid_click {{done}} {{
    global ds9 current
    update
    set c $ds9(canvas)
    foreach {{x0 y0 x1 y1}} [$c bbox $current(frame)] break
    set x [expr {{($x0 + $x1) / 2}}]
    set y [expr {{($y0 + $y1) / 2}}]
    set t [expr {{[incr ::xrbid_clicks] * 10000}}]
    event generate $c <Button-1> -x $x -y $y -time $t{state}
    for {{set i 1}} {{$i <= 10}} {{incr i}} {{
        if {{{dx} == 0 && {dy} == 0}} break
        set x2 [expr {{$x + {dx} * $i / 10}}]
        set y2 [expr {{$y + {dy} * $i / 10}}]
        event generate $c <B1-Motion> -x $x2 -y $y2 -time [expr {{$t + 10 * $i}}]{state}
        update
    }}
    event generate $c <ButtonRelease-1> -x [expr {{$x + {dx}}}] -y [expr {{$y + {dy}}}] \\
        -time [expr {{$t + 500}}]{state}
    update
    close [open $done w]
}}
after 0 [list xrbid_click {{{done}}}]
"""
        path = Path(folder) / "click.tcl"
        path.write_text(script, encoding="utf-8")
        session.set(f"source {{{path}}}")
        wait_until(done.exists, 10, "DS9 to handle the click", step=0.02)
