"""The options shared by several commands (cli/_options.py) and the shared output tail.

A shared option must read the same in every command's --help and fail the same way on every
command that takes it; the checks walk the real command tree, so a command that declares
its own copy with other words is caught.
"""

from __future__ import annotations

import json
from collections import defaultdict

import click
import pytest
from click.testing import CliRunner

from xrbid.cli._common import XrbidCommand, check_outputs, emit_written
from xrbid.cli._options import FILE, filter_values, option_group
from xrbid.cli.main import cli
from xrbid.errors import InputError, OutputExistsError

# options that mean the same wherever they appear: one help line for all their commands
# (--timeout is not among them: DS9's answer time and the archive service's differ)
SAME_EVERYWHERE = [
    "--overwrite",
    "--json",
    "--headers",
    "--ebv-scale",
    "--rv",
    "--law",
    "--camera",
    "--obsid",
    "--weights",
    "--max-theta",
    "--all-theta",
    "--keep-saturated",
    "--keep-convex-hull",
    "--likelihood",
    "--matched-regions",
    "--field",
    "--target",
    "--transport",
    "--start",
    "--scale",
    "--limits",
]


def _commands():
    """(context, command) for every leaf command of ``xrbid``."""

    def walk(command, ctx):
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                yield from walk(sub, click.Context(sub, info_name=name, parent=ctx))
        else:
            yield ctx, command

    root = click.Context(cli, info_name="xrbid")
    return list(walk(cli, root))


def _options_by_name():
    found = defaultdict(list)
    for ctx, command in _commands():
        for param in command.params:
            if isinstance(param, click.Option):
                for opt in param.opts:
                    found[opt].append((ctx.command_path, param, param.get_help_record(ctx)))
    return found


@pytest.mark.parametrize("name", SAME_EVERYWHERE)
def test_a_shared_option_has_one_help_text(name):
    uses = _options_by_name()[name]
    assert len(uses) >= 2, f"{name} is used by {len(uses)} command(s): not shared"
    records = {record for _, _, record in uses}
    assert len(records) == 1, f"{name} reads differently: {sorted(records)}"
    kinds = {(p.name, p.required, p.multiple, repr(p.default), type(p.type)) for _, p, _ in uses}
    assert len(kinds) == 1, f"{name} is parsed differently: {kinds}"


def test_every_output_option_is_a_file_path_given_as_o():
    uses = _options_by_name()["--output"]
    assert len(uses) >= 20
    for path, param, _ in uses:
        assert param.opts == ["-o", "--output"], path
        assert isinstance(param.type, click.Path), path
        if path == "xrbid ds9 stamps":  # a folder of PNGs
            assert not param.type.file_okay
            continue
        assert not param.type.dir_okay, path
        # only the draw-now, collect-later DS9 command may run without an output
        assert param.required == (path != "xrbid ds9 calibrators"), path


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_id_and_ids_file_together_is_the_same_error_everywhere(m101_vot, tmp_path):
    ids = tmp_path / "ids.txt"
    ids.write_text("2CXO J140251.0+542420\n")
    out = tmp_path / "out.ecsv"
    runs = {
        "csc select": _run("csc", "select", m101_vot, "--id", "X", "--ids-file", ids, "-o", out),
        "align median": _run(
            "align", "median", "--xray", m101_vot, "--optical", m101_vot,
            "--id", "X", "--ids-file", ids, "-o", tmp_path / "a.json",
        ),
        "ds9 calibrators": _run(
            "ds9", "calibrators", m101_vot, "--collect", "--id", "X", "--ids-file", ids, "-o", out
        ),
    }  # fmt: skip
    for name, result in runs.items():
        assert result.exit_code == 1, (name, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: give the "), (name, lines)
        assert lines[0].endswith("with --id ID ... or with --ids-file FILE, not both"), name
    assert "the calibrators" in runs["align median"].stderr
    assert not out.exists()


def test_filter_values_reads_filter_value_pairs():
    assert filter_values(("f555w=0.30", " F814W = 0.19"), "--extinction", "F555W=0.30") == {
        "F555W": 0.30,
        "F814W": 0.19,
    }
    assert filter_values((), "--pivot", "F555W=5360") == {}


@pytest.mark.parametrize("text", ["F555W", "=0.3", "F555W=", "F555W=bright", "F555W=nan", "F=inf"])
def test_filter_values_refuses_what_is_not_filter_equals_number(text):
    with pytest.raises(click.BadParameter) as info:
        filter_values((text,), "--zeropoint", "F814W=25.52")
    assert info.value.param_hint == "--zeropoint"
    assert info.value.message == f"{text!r}: write FILTER=VALUE, e.g. F814W=25.52"


def test_a_bad_filter_value_is_the_same_error_on_every_command(m101_vot, tmp_path):
    table = tmp_path / "cands.csv"
    table.write_text("source_id,ra,dec\nX1,210.8,54.35\n")
    runs = {
        "--zeropoint": _run(
            "phot", "counterparts", m101_vot, "--image", "F814W=f814w.fits",
            "--zeropoint", "F814W=bright", "-o", tmp_path / "p.ecsv",
        ),
        "--exptime": _run(
            "phot", "counterparts", m101_vot, "--image", "F814W=f814w.fits",
            "--exptime", "F814W=inf", "-o", tmp_path / "p.ecsv",
        ),
        "--extinction": _run(
            "figures", "cmd", table, "--color", "F555W-F814W", "--extinction", "F555W",
            "-o", tmp_path / "cmd.png",
        ),
        "--pivot": _run("classify", table, "--pivot", "F555W=5360A", "-o", tmp_path / "c.ecsv"),
    }  # fmt: skip
    for option, result in runs.items():
        assert result.exit_code == 2, (option, result.output)
        assert f"Invalid value for {option}: " in result.stderr, option
        assert "write FILTER=" in result.stderr and "e.g. F" in result.stderr, option
    assert not any(tmp_path.glob("*.ecsv")) and not (tmp_path / "cmd.png").exists()


def test_an_option_group_hands_the_command_one_value():
    seen = []

    def pair(low, high):
        if low >= high:
            raise click.BadParameter("LOW must be below HIGH", param_hint="--low")
        return (low, high)

    group = option_group(
        [
            click.option("--low", type=float, default=0.0, help="Lower end."),
            click.option("--high", type=float, default=1.0, help="Upper end."),
        ],
        "limits",
        pair,
    )

    @click.command(cls=XrbidCommand)
    @click.option("--name", default="x")
    @group
    def command(name, limits):
        """Toy command."""
        seen.append((name, limits))

    runner = CliRunner()
    assert runner.invoke(command, ["--high", "5", "--name", "y"]).exit_code == 0
    assert seen == [("y", (0.0, 5.0))]
    help_text = runner.invoke(command, ["--help"]).output
    assert help_text.index("--name") < help_text.index("--low") < help_text.index("--high")
    assert "Toy command." in help_text
    result = runner.invoke(command, ["--low", "2", "--high", "1"])
    assert result.exit_code == 2 and "Invalid value for --low: LOW must be below" in result.output
    assert len(seen) == 1


def test_emit_written_names_input_and_output(capsys):
    emit_written("in.ecsv", "3 rows", "out.ecsv", {"rows": 3}, False, also=["a.reg", "b.reg"])
    assert capsys.readouterr().out == "in.ecsv: 3 rows -> out.ecsv and a.reg, b.reg\n"
    emit_written("in.ecsv", "3 rows", "out.tex", {"rows": 3}, False, note=" (aastex)")
    assert capsys.readouterr().out == "in.ecsv: 3 rows -> out.tex (aastex)\n"
    emit_written("in.ecsv", "3 rows", "out.ecsv", {"rows": 3}, True)
    data = json.loads(capsys.readouterr().out)
    assert list(data) == ["input", "output", "rows"]
    assert data == {"input": "in.ecsv", "output": "out.ecsv", "rows": 3}


def test_check_outputs_refuses_before_any_work(tmp_path):
    existing = tmp_path / "old.ecsv"
    existing.write_text("x\n")
    check_outputs(False, None, tmp_path / "new.ecsv", figures=[None])  # nothing to refuse
    with pytest.raises(OutputExistsError):
        check_outputs(False, tmp_path / "new.ecsv", existing)
    check_outputs(True, existing)
    with pytest.raises(InputError):  # a suffix that names no figure format
        check_outputs(False, tmp_path / "new.ecsv", figures=[tmp_path / "plot.xyz"])
    assert existing.read_text() == "x\n" and not (tmp_path / "new.ecsv").exists()


def test_file_paths_are_paths_not_folders(tmp_path):
    @click.command()
    @click.argument("path", type=FILE)
    def command(path):
        click.echo(type(path).__name__)

    assert CliRunner().invoke(command, [str(tmp_path / "a.ecsv")]).output == "PosixPath\n"
    result = CliRunner().invoke(command, [str(tmp_path)])
    assert result.exit_code == 2 and "is a directory" in result.output
