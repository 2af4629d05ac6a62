"""docs/commands.md: the help text each command really prints."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from xrbid.cli.main import cli

COMMANDS_MD = Path(__file__).parents[2] / "docs" / "commands.md"


@pytest.mark.parametrize("args", [[], ["run"], ["csc", "unique"], ["ds9", "show"]])
def test_commands_md_holds_what_help_prints(args):
    result = CliRunner().invoke(cli, [*args, "--help"], prog_name="xrbid", terminal_width=78)
    assert result.exit_code == 0, result.output
    text = COMMANDS_MD.read_text(encoding="utf-8")
    assert f"```text\n{result.output.rstrip()}\n```" in text
    # the short option the commands accept is documented with them
    assert "-h, --help" in result.output
