"""The command line's error boundary (cli/_common.py): which failures become one line, which
keep their traceback, and how warnings are shown."""

from __future__ import annotations

import warnings

import click
import pytest
from click.testing import CliRunner

from xrbid.cli._common import XrbidGroup
from xrbid.errors import InputError


@click.group(cls=XrbidGroup)
def demo() -> None:
    """A group built like the real ones."""


@demo.command()
@click.option("--fail", type=click.Choice(["no", "user", "bug", "read"]), default="no")
def warn(fail: str) -> None:
    warnings.warn("the catalogue has 3 rows without a position\n  (line two)", stacklevel=1)
    warnings.warn("the catalogue has 3 rows without a position\n  (line two)", stacklevel=1)
    warnings.warn("an old keyword", DeprecationWarning, stacklevel=1)
    if fail == "user":
        raise InputError("t.csv: column ra is missing; add it")
    if fail == "bug":
        raise ZeroDivisionError("a genuine bug")
    if fail == "read":
        open("/nonexistent-folder/t.csv")
    click.echo("done")


def test_warnings_are_one_line_each_after_success():
    result = CliRunner().invoke(demo, ["warn"])
    assert result.exit_code == 0 and result.stdout == "done\n"
    # once, on one line, without the source line Python's own display adds; no deprecations
    assert result.stderr == "Warning: the catalogue has 3 rows without a position (line two)\n"


@pytest.mark.fault
def test_no_warning_before_the_error():
    result = CliRunner().invoke(demo, ["warn", "--fail", "user"])
    assert result.exit_code == 1
    assert result.stderr == "Error: t.csv: column ra is missing; add it\n"


def test_a_bug_keeps_its_traceback():
    result = CliRunner().invoke(demo, ["warn", "--fail", "bug"])
    assert isinstance(result.exception, ZeroDivisionError)
    assert "Error:" not in result.stderr


@pytest.mark.fault
def test_a_missing_file_is_one_line_naming_it():
    result = CliRunner().invoke(demo, ["warn", "--fail", "read"])
    assert result.exit_code == 1
    assert result.stderr == "Error: /nonexistent-folder/t.csv: no such file; check the path\n"


def test_click_usage_errors_keep_clicks_form():
    result = CliRunner().invoke(demo, ["warn", "--fail", "maybe"])
    assert result.exit_code == 2 and "Usage:" in result.stderr


@demo.command()
@click.argument("out", type=click.Path())
@click.option("--json", "as_json", is_flag=True)
@click.option("--race/--no-race", default=True)
def lose(out: str, as_json: bool, race: bool) -> None:
    """Write OUT, then, before the commit, let another process create it (a lost race)."""
    import subprocess
    import sys

    from xrbid._io import atomic_output
    from xrbid.cli._common import emit

    with atomic_output(out) as tmp:
        tmp.write_text("mine\n")
    emit(f"1 row -> {out}", {"output": out}, as_json)
    if not race:
        return
    code = f"from xrbid._io import write_text_atomic; write_text_atomic({out!r}, 'theirs\\n')"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.fault
@pytest.mark.parametrize("as_json", [[], ["--json"]])
def test_a_failed_commit_prints_no_summary(tmp_path, as_json):
    """The summary (``-> out``, or the JSON) is printed after the commit: a process that loses
    the race for a new output prints only its Error line, not a success report too."""
    out = tmp_path / "out.txt"
    result = CliRunner().invoke(demo, ["lose", str(out), *as_json])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ") and "created by another process" in result.stderr
    assert out.read_text() == "theirs\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_the_summary_is_printed_after_success(tmp_path):
    out = tmp_path / "out.txt"
    result = CliRunner().invoke(demo, ["lose", str(out), "--no-race", "--json"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f'{{"output": "{out}"}}\n'
    assert out.read_text() == "mine\n"
