"""``xrbid run``: the template, one galaxy with its progress and summary, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib

from click.testing import CliRunner

from tests.conftest import ROOT
from tests.pipeline.conftest import m101_toml
from xrbid.cli.main import cli


def run(*args, cwd=None):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_init_writes_a_template_that_does_not_overwrite(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = run("run", "--init", "NGC1313")
    assert res.exit_code == 0, res.output
    data = tomllib.loads((tmp_path / "ngc1313.toml").read_text())
    assert data["galaxy"]["name"] == "NGC1313"
    res = run("run", "--init", "NGC1313")
    assert res.exit_code == 1
    assert res.output.strip().splitlines() == [
        "Error: ngc1313.toml exists; use --overwrite (overwrite=True in Python) to replace it"
    ]


def test_init_refuses_what_it_would_ignore(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m101.toml").write_text(m101_toml())
    res = run("run", "--init", "X1", "m101.toml", "--force", "xray")
    assert res.exit_code == 1
    assert res.output.strip().splitlines() == [
        "Error: --init NAME writes a template and runs nothing; give it without "
        "CONFIG.toml, --force (then run the template)"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m101.toml"]
    res = run("run", "--init", "X1", "--dry-run")
    assert res.exit_code == 1 and "without --dry-run" in res.output
    assert run("run", "--init", "X1", "-q").exit_code == 0  # quiet changes nothing
    assert (tmp_path / "x1.toml").is_file()


def test_run_m101_prints_progress_and_a_summary(tmp_path):
    config = tmp_path / "m101.toml"
    config.write_text(m101_toml())
    res = run("run", config)
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert any(line.startswith("  M101: align") and "done" in line for line in lines)
    summary = [line for line in lines if line.startswith("M101 ")]
    assert len(summary) == 1 and " ok " in summary[0]
    assert "555 sources" in summary[0] and "candidates" in summary[0]
    res = run("run", config, "--dry-run")
    assert res.exit_code == 0
    assert "  counterparts  up to date" in res.output
    res = run("run", config, "--json")
    data = json.loads(res.output)
    assert data[0]["ok"] and {s["state"] for s in data[0]["steps"]} == {"up to date"}


def test_bad_config_is_one_line_and_exit_1(tmp_path):
    config = tmp_path / "m101.toml"
    config.write_text(m101_toml(alignment='method = "mean"'))
    res = run("run", config)
    assert res.exit_code == 1
    assert res.output.count("\n") == 1
    assert res.output.startswith(f"Error: {config}: [alignment].method: Input should be")
    res = run("run")
    assert res.exit_code == 1 and "give a galaxy configuration" in res.output


def test_json_of_a_failing_galaxy_is_still_json_on_stdout(tmp_path):
    config = tmp_path / "m101.toml"
    config.write_text(m101_toml(ids=["2CXO J000000.0+000000"]))
    res = run("run", config, "--json")
    assert res.exit_code == 1
    data = json.loads(res.stdout)
    assert len(data) == 1 and data[0]["ok"] is False and data[0]["name"] == "M101"
    assert data[0]["failed_step"] == "calibrators"
    assert data[0]["error"].startswith("M101: step calibrators: [calibrators].ids: 1 of 1 IDs")
    assert [(s["step"], s["state"]) for s in data[0]["steps"]] == [("xray", "ran")]
    assert res.stderr.strip().splitlines() == [f"Error: {data[0]['error']}"]
    # without --json the same failure is the one error line and no summary
    res = run("run", config, "-q")
    assert res.exit_code == 1
    assert res.output.strip().splitlines() == [f"Error: {data[0]['error']}"]


def test_installed_command_on_the_shipped_example(tmp_path):
    """The console script on examples/m101.toml, as `make demo` runs it (output elsewhere)."""
    text = (ROOT / "examples" / "m101.toml").read_text()
    text = text.replace('folder = "../demo-output/m101"', f'folder = "{tmp_path / "m101"}"')
    text = text.replace('"../testdata/', f'"{ROOT / "testdata"}/')
    config = tmp_path / "m101.toml"
    config.write_text(text)
    exe = os.path.join(os.path.dirname(sys.executable), "xrbid")
    proc = subprocess.run([exe, "run", str(config)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "m101" / "report.html").exists()
    assert "M101: report" in proc.stderr


def test_two_galaxies_one_failing_summary_table_and_exit_1(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text(m101_toml(folder="out_good"))
    bad = tmp_path / "bad.toml"
    bad.write_text(
        m101_toml(ids=["2CXO J000000.0+000000"], folder="out_bad").replace(
            'name = "M101"', 'name = "M102"'
        )
    )
    res = run("run", good, bad, "-j", "1", "--until", "align")
    assert res.exit_code == 1
    lines = res.output.splitlines()
    assert "  M101: done" in res.output and "  M102: FAILED" in res.output
    table = lines[lines.index(next(x for x in lines if x.startswith("galaxy"))) :]
    assert table[1].startswith("M101") and " ok " in table[1]
    assert table[2].startswith("M102") and " FAILED " in table[2]
    assert "M102: step calibrators: [calibrators].ids:" in table[2]
    assert (tmp_path / "out_good" / "alignment.json").exists()


def test_a_second_run_on_the_same_folder_is_one_line_and_exit_1(tmp_path):
    config = tmp_path / "m101.toml"
    config.write_text(m101_toml())
    (tmp_path / "out").mkdir()
    hold = (
        "import sys, time\nfrom pathlib import Path\n"
        "from xrbid.pipeline.state import folder_lock\n"
        "with folder_lock(Path(sys.argv[1])):\n    print('held', flush=True)\n    time.sleep(120)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", hold, str(tmp_path / "out")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "held"
        res = run("run", config)
    finally:
        proc.kill()
        proc.wait()
    assert res.exit_code == 1
    assert res.output.count("\n") == 1
    assert res.output.startswith(f"Error: {tmp_path / 'out'} is in use by another xrbid run")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".xrbid"]


def test_summary_of_a_run_stopped_before_any_count_names_only_the_folder():
    from xrbid.cli.run import _summary_table
    from xrbid.pipeline import GalaxyResult

    res = GalaxyResult("M101", "m101.toml", ok=True, folder="/data/out")
    line = _summary_table([res])[1]
    assert line.endswith("  /data/out") and "->" not in line
