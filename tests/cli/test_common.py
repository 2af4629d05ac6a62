"""The shared pieces of the command line: the ``--json`` summary is strict JSON."""

from __future__ import annotations

import json
import math

import click
import numpy as np
from click.testing import CliRunner

from xrbid.cli._common import emit


def _strict_loads(text: str):
    def refuse(name: str):
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def test_json_summary_writes_null_for_nan_and_infinities():
    @click.command()
    def summary() -> None:
        emit(
            "human line",
            {
                "median": math.nan,
                "scatter": np.float64("nan"),
                "limit": math.inf,
                "shift": np.array([0.1, np.nan, -np.inf]),
                "counts": np.int64(3),
                "nested": {"sigma": (np.float32(0.5), float("nan"))},
                "ok": np.bool_(True),
            },
            True,
        )

    result = CliRunner().invoke(summary, [])
    assert result.exit_code == 0, result.output
    data = _strict_loads(result.stdout)
    assert data == {
        "median": None,
        "scatter": None,
        "limit": None,
        "shift": [0.1, None, None],
        "counts": 3,
        "nested": {"sigma": [0.5, None]},
        "ok": True,
    }


def test_human_summary_is_the_line():
    @click.command()
    def summary() -> None:
        emit("3 sources -> out.ecsv", {"n": math.nan}, False)

    result = CliRunner().invoke(summary, [])
    assert result.stdout == "3 sources -> out.ecsv\n"
