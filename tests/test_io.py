"""Safe outputs (xrbid._io): no clobbering, regular files only, real file-system failures,
signals during a write, all-or-nothing commits, outputs that are inputs."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.fsfaults import leftovers, read_only_folder, run_xrbid, small_disk
from xrbid._io import (
    atomic_output,
    check_output,
    guard_paths,
    output_transaction,
    write_text_atomic,
)
from xrbid.errors import InputError, OutputError, OutputExistsError


def test_new_output_is_committed_with_normal_permissions(tmp_path):
    out = write_text_atomic(tmp_path / "a.txt", "hello\n")
    assert out.read_text() == "hello\n"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~mask
    assert leftovers(tmp_path) == []


@pytest.mark.fault
def test_second_writer_of_a_new_output_fails(tmp_path):
    """Another process creates the output while this one writes it: the commit (a hard link,
    which never replaces) fails and the other process's file stays."""
    out = tmp_path / "out.txt"
    with pytest.raises(OutputExistsError, match="created by another process"):
        with atomic_output(out) as tmp:
            tmp.write_text("mine\n")
            code = (
                "from xrbid._io import write_text_atomic; "
                f"write_text_atomic({str(out)!r}, 'theirs\\n')"
            )
            subprocess.run([sys.executable, "-c", code], check=True)
    assert out.read_text() == "theirs\n"
    assert leftovers(tmp_path) == []


@pytest.mark.fault
def test_two_processes_racing_for_one_output(tmp_path):
    """Start 6 processes that all write the same new file at the same moment: exactly one wins."""
    out = tmp_path / "race.txt"
    start = time.time() + 1.5
    code = textwrap.dedent(
        f"""
        import sys, time
        from xrbid._io import atomic_output
        from xrbid.errors import OutputExistsError
        with atomic_output({str(out)!r}) as tmp:
            tmp.write_text(sys.argv[1])
            time.sleep(max(0.0, {start} - time.time()))
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(k)], stderr=subprocess.PIPE)
        for k in range(6)
    ]
    codes = [p.wait(timeout=60) for p in procs]
    assert sorted(codes) == [0, 1, 1, 1, 1, 1]
    winner = codes.index(0)
    assert out.read_text() == str(winner)
    assert leftovers(tmp_path) == []


@pytest.mark.fault
def test_overwrite_replaces_and_without_it_refuses(tmp_path):
    out = tmp_path / "a.txt"
    out.write_text("old\n")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        write_text_atomic(out, "new\n")
    assert out.read_text() == "old\n"
    write_text_atomic(out, "new\n", overwrite=True)
    assert out.read_text() == "new\n"


@pytest.mark.fault
@pytest.mark.parametrize("overwrite", [False, True])
def test_fifo_is_refused_without_opening_it(tmp_path, overwrite):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="FIFO"):
        write_text_atomic(fifo, "x", overwrite=overwrite)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def _private_null(tmp_path: Path) -> Path:
    """A character device to aim at: a private copy of /dev/null's node as root, else /dev/null
    itself (which a normal user cannot replace anyway)."""
    if os.geteuid() == 0:
        node = tmp_path / "null"
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        return node
    return Path("/dev/null")


@pytest.mark.fault
def test_device_is_refused_even_with_overwrite(tmp_path):
    dev = _private_null(tmp_path)
    with pytest.raises(OutputError, match="character device"):
        write_text_atomic(dev, "x", overwrite=True)
    assert stat.S_ISCHR(os.lstat(dev).st_mode)


@pytest.mark.fault
def test_symlink_is_refused_and_its_target_untouched(tmp_path):
    target = tmp_path / "real.txt"
    target.write_text("keep\n")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    with pytest.raises(OutputError, match=r"symbolic link \(to .*real.txt\)"):
        write_text_atomic(link, "x", overwrite=True)
    assert link.is_symlink() and target.read_text() == "keep\n"


@pytest.mark.fault
def test_folder_and_missing_folder(tmp_path):
    with pytest.raises(OutputError, match="is a folder"):
        check_output(tmp_path, overwrite=True)
    with pytest.raises(InputError, match="does not exist"):
        check_output(tmp_path / "nope" / "a.txt")


@pytest.mark.fault
def test_name_too_long(tmp_path):
    too_long = r"File name too long writing .*has 300 bytes.*allows 255"
    with pytest.raises(OutputError, match=too_long):
        write_text_atomic(tmp_path / ("x" * 296 + ".txt"), "x")
    # the longest allowed name works (the temporary name is shortened, not the output's)
    out = write_text_atomic(tmp_path / ("y" * 251 + ".txt"), "x")
    assert out.read_text() == "x" and leftovers(tmp_path) == []


@pytest.mark.fault
def test_disk_full_leaves_old_output_and_no_temporary_file(tmp_path):
    folder = tmp_path / "disk"
    with small_disk(folder, 64) as mounted:
        if not mounted:  # same promise under a file-size limit (EFBIG), in a child process
            folder.mkdir()
        out = folder / "out.txt"
        out.write_text("old\n")
        code = textwrap.dedent(
            f"""
            import resource, signal
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            if not {mounted}:
                resource.setrlimit(resource.RLIMIT_FSIZE, (32768, 32768))
            from xrbid._io import write_text_atomic
            from xrbid.errors import OutputError
            try:
                write_text_atomic({str(out)!r}, "x" * 200_000, overwrite=True)
            except OutputError as exc:
                print(exc)
            """
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        expected = "No space left on device" if mounted else "File too large"
        assert done.stdout.startswith(f"{expected} writing {out}"), done.stdout + done.stderr
        assert out.read_text() == "old\n"
        assert leftovers(folder) == []


@pytest.mark.fault
def test_read_only_folder_is_one_line(tmp_path):
    folder = tmp_path / "ro"
    with read_only_folder(folder, {"old.txt": b"old\n"}) as how:
        with pytest.raises(OutputError) as err:
            write_text_atomic(folder / "old.txt", "new\n", overwrite=True)
        reason = "Read-only file system" if how == "mount" else "Permission denied"
        assert str(err.value).startswith(f"{reason} writing {folder / 'old.txt'}")
        assert (folder / "old.txt").read_text() == "old\n"


@pytest.mark.fault
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_signal_during_a_write_leaves_no_temporary_file(tmp_path, sig):
    out = tmp_path / "big.txt"
    code = textwrap.dedent(
        f"""
        import sys, time
        from xrbid._io import atomic_output
        with atomic_output({str(out)!r}) as tmp:
            with open(tmp, "w") as f:
                f.write("partial")
                f.flush()
                print("writing", flush=True)
                time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    assert len(leftovers(tmp_path)) == 1  # the temporary file exists while writing
    proc.send_signal(sig)
    assert proc.wait(timeout=20) == -sig  # ended by the signal, as without xrbid
    assert leftovers(tmp_path) == [] and not out.exists()


@pytest.mark.fault
def test_user_signal_handler_is_kept(tmp_path):
    """A handler the program installed is not replaced (nor are its temporary files removed)."""
    seen = []
    previous = signal.signal(signal.SIGHUP, lambda *a: seen.append(1))
    try:
        with atomic_output(tmp_path / "a.txt") as tmp:
            tmp.write_text("x")
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(0.05)
        assert seen == [1] and (tmp_path / "a.txt").read_text() == "x"
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


@pytest.mark.fault
def test_transaction_commits_all_or_none(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.reg"
    with pytest.raises(RuntimeError):
        with output_transaction([a, b]):
            write_text_atomic(a, "{}")
            assert not a.exists()  # staged, not yet committed
            with atomic_output(b) as tmp:
                tmp.write_text("circle(")
                raise RuntimeError("the second writer fails")
    assert not a.exists() and not b.exists() and leftovers(tmp_path) == []
    with output_transaction([a, b]):  # the retry is not blocked by a left-over first output
        write_text_atomic(a, "{}")
        write_text_atomic(b, "fk5\n")
    assert a.read_text() == "{}" and b.read_text() == "fk5\n"


@pytest.mark.fault
def test_transaction_puts_back_replaced_outputs_when_a_commit_fails(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("old a\n")
    with pytest.raises(OutputExistsError):
        with output_transaction([a, b], overwrite=True):
            write_text_atomic(a, "new a\n", overwrite=True)
            write_text_atomic(b, "new b\n", overwrite=False)
            b.write_text("someone else's b\n")  # appears before the commit
    assert a.read_text() == "old a\n"
    assert b.read_text() == "someone else's b\n"
    assert leftovers(tmp_path) == []


@pytest.mark.fault
def test_transaction_refuses_one_file_named_twice_up_front(tmp_path):
    with pytest.raises(OutputError, match="given for two outputs"):
        with output_transaction([tmp_path / "s.json", tmp_path / "s.json"]):
            pytest.fail("the block must not run")
    (tmp_path / "d").mkdir()
    with pytest.raises(OutputError, match="same file"):
        with output_transaction([tmp_path / "s.json", tmp_path / "d" / ".." / "s.json"]):
            pytest.fail("the block must not run")


@pytest.mark.fault
def test_guard_refuses_an_output_that_is_an_input(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("a\n1\n")
    with guard_paths([("TABLE", table), ("-o/--output", tmp_path / "." / "t.csv")]):
        with pytest.raises(OutputError, match="TABLE and -o/--output both name"):
            write_text_atomic(tmp_path / "t.csv", "a\n2\n", overwrite=True)
        write_text_atomic(tmp_path / "other.csv", "a\n2\n")
    assert table.read_text() == "a\n1\n"
    hard = tmp_path / "hard.csv"
    os.link(table, hard)  # the same file under another name
    with guard_paths([("TABLE", table), ("-o", hard)]):
        with pytest.raises(OutputError, match="both name"):
            check_output(hard, overwrite=True)
    with pytest.raises(OutputError, match="-o and --plot both name"):
        with guard_paths([("-o", tmp_path / "new.png"), ("--plot", tmp_path / "new.png")]):
            pass


def test_run_xrbid_helper_reaches_the_cli(tmp_path):
    done = run_xrbid("--version", cwd=tmp_path)
    assert done.returncode == 0 and "xrbid" in done.stdout
