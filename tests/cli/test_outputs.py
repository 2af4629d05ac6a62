"""The command line's promises about outputs (cli/_common.py with xrbid._io), run as a user
would: in a child process, against real file-system failures."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.fsfaults import leftovers, read_only_folder, run_xrbid, small_disk


def assert_one_error_line(done: subprocess.CompletedProcess, *fragments: str) -> str:
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("Error: ") and "Traceback" not in done.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def unique_ecsv(m101_vot, tmp_path) -> Path:
    out = tmp_path / "m101_unique.ecsv"
    done = run_xrbid("csc", "unique", m101_vot, "-o", out, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture
def calibrators(unique_ecsv, tmp_path) -> tuple[Path, Path]:
    """20 X-ray sources, and optical points at their positions shifted by +0.4" in Dec."""
    from xrbid.tables import read_table, write_table

    df = read_table(unique_ecsv).head(20)
    xray = write_table(df, tmp_path / "calibrators.ecsv")
    reg = tmp_path / "optical.reg"
    lines = ["fk5"] + [
        f"point({ra:.8f},{dec + 0.4 / 3600:.8f})" for ra, dec in zip(df["ra"], df["dec"])
    ]
    reg.write_text("\n".join(lines) + "\n")
    return Path(xray), reg


@pytest.mark.fault
def test_a_failing_output_commits_none_and_the_retry_works(calibrators, tmp_path):
    """`align median -o s.json --matched-regions m.reg --plot p.png`: the plot (about 30 kB,
    written last) fails on a file-size limit of 16 kB that the JSON (9 kB) and the region file
    (2 kB) fit under; neither of them may be left behind, and the retry must not stop at
    "exists"."""
    out, reg, png = tmp_path / "s.json", tmp_path / "m.reg", tmp_path / "p.png"
    xray, optical = calibrators
    args = ["align", "median", "--xray", xray, "--optical", optical]
    args += ["--max-sep", "1arcsec", "-o", out, "--matched-regions", reg, "--plot", png]
    done = run_xrbid(*args, cwd=tmp_path, fsize=16_384)
    assert_one_error_line(done, f"File too large writing {png}")
    assert not out.exists() and not reg.exists() and not png.exists()
    assert leftovers(tmp_path) == []
    done = run_xrbid(*args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert out.exists() and reg.exists() and png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.fault
def test_disk_full_is_one_line_and_keeps_the_old_output(m101_vot, tmp_path):
    folder = tmp_path / "disk"
    with small_disk(folder, 100) as mounted:
        if not mounted:
            folder.mkdir()
        out = folder / "out.ecsv"
        out.write_text("# old\n")
        done = run_xrbid(
            "csc", "load", m101_vot, "-o", out, "--overwrite",
            cwd=tmp_path, fsize=None if mounted else 100_000,
        )  # fmt: skip
        reason = "No space left on device" if mounted else "File too large"
        assert_one_error_line(done, f"{reason} writing {out}")
        assert out.read_text() == "# old\n"
        assert leftovers(folder) == []


@pytest.mark.fault
def test_read_only_folder_is_refused_before_the_work(m101_vot, tmp_path):
    folder = tmp_path / "ro"
    with read_only_folder(folder) as how:
        done = run_xrbid("csc", "load", m101_vot, "-o", folder / "m.ecsv", cwd=tmp_path)
        reason = "Read-only file system" if how == "mount" else "Permission denied"
        assert_one_error_line(done, f"{reason} writing {folder / 'm.ecsv'}")


@pytest.mark.fault
def test_name_too_long(m101_vot, tmp_path):
    out = tmp_path / ("n" * 300 + ".ecsv")
    done = run_xrbid("csc", "load", m101_vot, "-o", out, cwd=tmp_path)
    assert_one_error_line(done, "File name too long", "choose a shorter name")


@pytest.mark.fault
def test_fifo_output_is_refused_and_nothing_blocks(m101_vot, tmp_path):
    fifo = tmp_path / "out.ecsv"
    os.mkfifo(fifo)
    done = run_xrbid("csc", "load", m101_vot, "-o", fifo, "--overwrite", cwd=tmp_path)
    assert_one_error_line(done, "FIFO", "not a regular file")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.fault
def test_device_output_is_refused_with_overwrite(m101_vot, tmp_path):
    if os.geteuid() == 0:  # a private node of the null device: never aim a test at /dev/null
        dev = tmp_path / "null.ecsv"
        os.mknod(dev, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        expected = "character device"
    else:  # a user cannot replace /dev/null anyway; its name has no table extension
        dev = Path("/dev/null")
        expected = ""
    done = run_xrbid("csc", "load", m101_vot, "-o", dev, "--overwrite", cwd=tmp_path)
    assert_one_error_line(done, expected)
    assert stat.S_ISCHR(os.lstat(dev).st_mode)


@pytest.mark.fault
def test_symlink_output_is_refused(m101_vot, tmp_path):
    target = tmp_path / "keep.ecsv"
    target.write_text("# keep\n")
    link = tmp_path / "link.ecsv"
    link.symlink_to(target)
    done = run_xrbid("csc", "load", m101_vot, "-o", link, "--overwrite", cwd=tmp_path)
    assert_one_error_line(done, "symbolic link", "keep.ecsv")
    assert link.is_symlink() and target.read_text() == "# keep\n"


@pytest.mark.fault
def test_output_that_is_the_input_is_refused(m101_vot, tmp_path):
    table = tmp_path / "t.csv"
    done = run_xrbid("csc", "load", m101_vot, "-o", table, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    before = table.read_bytes()
    done = run_xrbid("csc", "unique", table, "-o", table, "--overwrite", cwd=tmp_path)
    assert_one_error_line(done, "TABLE_PATH and -o/--output both name")
    assert table.read_bytes() == before
    # the same file under another name (a hard link) is the same input
    twin = tmp_path / "twin.csv"
    os.link(table, twin)
    done = run_xrbid("csc", "unique", table, "-o", twin, "--overwrite", cwd=tmp_path)
    assert_one_error_line(done, "both name")
    assert table.read_bytes() == before


@pytest.mark.fault
def test_two_outputs_with_one_name_are_refused_up_front(calibrators, tmp_path):
    out = tmp_path / "s.json"
    xray, optical = calibrators
    done = run_xrbid(
        "align", "median", "--xray", xray, "--optical", optical,
        "-o", out, "--plot", out, cwd=tmp_path,
    )  # fmt: skip
    assert_one_error_line(done, "-o/--output and --plot both name")
    assert not out.exists()


@pytest.mark.fault
def test_commands_need_no_writable_home(m101_vot, tmp_path):
    """astropy's config and cache folders cannot be created under this home (their parents are
    files): the command still reads and writes the user's files, without a warning."""
    home = tmp_path / "home"
    home.mkdir()
    for name in (".astropy", ".config", ".cache"):
        (home / name).write_text("not a folder\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "ASTROPY_"))}
    env["HOME"] = str(home)
    done = run_xrbid("csc", "load", m101_vot, "-o", tmp_path / "m.ecsv", cwd=tmp_path, env=env)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert (tmp_path / "m.ecsv").exists()


@pytest.mark.fault
def test_astropy_gets_a_private_folder_when_home_cannot_be_written(tmp_path):
    from xrbid.cli.main import astropy_dirs_writable

    home = tmp_path / "home"
    home.mkdir()
    (home / ".config").write_text("x")
    (home / ".cache").mkdir()  # writable: left alone
    env = {"HOME": str(home)}
    chosen = astropy_dirs_writable(env)
    assert list(chosen) == ["ASTROPY_CONFIG_DIR"]
    folder = Path(env["ASTROPY_CONFIG_DIR"])
    assert folder.is_dir() and os.access(folder, os.W_OK)
    shutil.rmtree(folder)
    assert astropy_dirs_writable({"HOME": str(home), "ASTROPY_CONFIG_DIR": "/x"}) == {}
