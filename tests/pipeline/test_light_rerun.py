"""A run with nothing to recompute decides so without loading the science stack."""

from __future__ import annotations

from xrbid.pipeline import run_galaxy

from .conftest import cli_imports, m101_toml

HEAVY = ["numpy", "pandas", "astropy", "scipy", "matplotlib", "photutils"]


def _probe(*args: str) -> dict:
    return cli_imports(HEAVY, *args)


def test_rerun_and_dry_run_import_no_science_stack(tmp_path):
    config = tmp_path / "m101.toml"
    config.write_text(m101_toml(), encoding="utf-8")
    first = run_galaxy(config)
    assert [s.state for s in first.steps] == ["ran"] * len(first.steps)

    again = _probe("run", str(config), "--json")
    assert again == {"code": 0, "loaded": []}
    plan = _probe("run", str(config), "--dry-run")
    assert plan == {"code": 0, "loaded": []}

    # an edited output is noticed from its hash, and the step runs (with the stack) again
    (tmp_path / "out" / "best_1sig.reg").write_text("# edited\n", encoding="utf-8")
    rerun = _probe("run", str(config), "-q")
    assert rerun["code"] == 0 and "pandas" in rerun["loaded"]
    assert "# edited" not in (tmp_path / "out" / "best_1sig.reg").read_text()
