"""Two runs on one output folder: the second is refused in one line; a killed run frees it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from xrbid.errors import OutputError
from xrbid.pipeline import run_galaxy
from xrbid.pipeline.state import STATE_DIR, folder_lock

from .conftest import m101_toml

HOLD = """
import sys, time
from pathlib import Path
from xrbid.pipeline.state import folder_lock
with folder_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(120)
"""


def _holder(folder):
    """Another process holding ``folder``'s lock (started, and holding, on return)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def _snapshot(folder):
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and p.name != "lock"
    }


def test_a_second_run_on_a_held_folder_is_refused_and_writes_nothing(tmp_path, write_config):
    out = tmp_path / "out"
    out.mkdir()
    config = write_config(m101_toml())
    run_galaxy(config, until="optical")
    before = _snapshot(out)
    proc = _holder(out)
    try:
        with pytest.raises(OutputError) as err:
            run_galaxy(config, force=["xray"])
    finally:
        proc.kill()
        proc.wait()
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith(f"{out} is in use by another xrbid run (process {proc.pid})")
    assert _snapshot(out) == before
    assert not list((out / STATE_DIR).glob("staging-*"))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_a_killed_run_leaves_no_stale_lock(tmp_path, sig):
    proc = _holder(tmp_path)
    os.kill(proc.pid, sig)
    proc.wait()
    with folder_lock(tmp_path):
        assert (tmp_path / STATE_DIR / "lock").read_text().strip() == str(os.getpid())


def test_the_lock_is_per_folder_and_released_after_use(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with folder_lock(tmp_path / "a"), folder_lock(tmp_path / "b"):
        pass
    with folder_lock(tmp_path / "a"):
        pass
