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
