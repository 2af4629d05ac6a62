"""The QA flags of CSC 2.1 §5.7 (xrbid.align.qa): each threshold at and beyond its edge, per
stack, and the user documentation quoting the same numbers as the named thresholds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xrbid.align import QA_FLAGS
from xrbid.align._common import MIN_PAIRS
from xrbid.align.qa import (
    QA_BRIGHT_COUNTS,
    QA_CENTRAL_THETA,
    QA_FEW_MATCHES_SHIFT,
    QA_MAX_DENSITY,
    QA_MAX_SHIFT,
    qa_flags,
)

ROOT = Path(__file__).resolve().parents[2]


def test_the_thresholds_are_those_of_the_specification():
    # CSC 2.1 fine astrometry §5.7: 3 matches, 5 arcmin, 15 counts, 0.5", 1", 100 per arcmin^2
    assert (MIN_PAIRS, QA_CENTRAL_THETA, QA_BRIGHT_COUNTS) == (3, 5.0, 15.0)
    assert (QA_FEW_MATCHES_SHIFT, QA_MAX_SHIFT, QA_MAX_DENSITY) == (0.5, 1.0, 100.0)


def _one_stack(theta, counts, *, n_match=2, n_used=2, shift=0.2, density=10.0):
    xray = pd.DataFrame({"theta": theta, "counts": counts})
    flags = qa_flags(
        xray,
        np.zeros(len(xray), dtype=np.intp),
        n_match=np.array([n_match]),
        n_used=np.array([n_used]),
        total_shift=np.array([shift]),
        density=np.array([density]),
    )
    return {k: bool(v[0]) for k, v in flags.items()}


def test_few_matches_is_excused_by_a_central_bright_source_and_a_small_shift():
    # 2 matches (< 3), a source at 4.9' with 16 counts, shift 0.2": nothing raised
    assert _one_stack([4.9, 8.0], [16.0, 3.0]) == {
        "no_matches": False,
        "few_matches": False,
        "shift_large": False,
        "density_high": False,
    }


@pytest.mark.parametrize(
    ("theta", "counts", "shift", "flagged"),
    [
        ([5.0, 8.0], [16.0, 3.0], 0.2, True),  # theta must be strictly below 5'
        ([4.9, 8.0], [15.0, 3.0], 0.2, True),  # counts must be strictly above 15
        ([4.9, 8.0], [16.0, 3.0], 0.51, True),  # a shift above 0.5"
        ([4.9, 8.0], [16.0, 3.0], 0.5, False),  # a shift of 0.5" is not above it
        # a central source and a bright source are asked for, not one source that is both
        ([4.9, 8.0], [3.0, 16.0], 0.2, False),
        ([np.nan, 8.0], [16.0, 3.0], 0.2, True),  # an unknown theta is not central
    ],
)
def test_few_matches_at_each_edge(theta, counts, shift, flagged):
    assert _one_stack(theta, counts, shift=shift)["few_matches"] is flagged


def test_three_matches_are_never_few():
    assert not _one_stack([9.0], [1.0], n_match=3, n_used=3, shift=0.9)["few_matches"]


def test_no_pair_used_raises_no_matches_and_few_matches():
    flags = _one_stack([1.0], [100.0], n_match=0, n_used=0, shift=0.0)
    assert flags["no_matches"] and flags["few_matches"]


@pytest.mark.parametrize(("shift", "large"), [(1.0, False), (1.01, True)])
def test_shift_large_above_one_arcsec(shift, large):
    assert _one_stack([1.0], [100.0], n_match=5, n_used=5, shift=shift)["shift_large"] is large


@pytest.mark.parametrize(("density", "high"), [(100.0, False), (100.5, True)])
def test_density_high_above_100_per_square_arcmin(density, high):
    flags = _one_stack([1.0], [100.0], n_match=5, n_used=5, density=density)
    assert flags["density_high"] is high


def test_flags_are_per_stack():
    # stack 0: central and bright; stack 1: neither (its rows are far out and faint)
    xray = pd.DataFrame({"theta": [1.0, 9.0, 9.5], "counts": [50.0, 2.0, 4.0]})
    flags = qa_flags(
        xray,
        np.array([0, 1, 1]),
        n_match=np.array([2, 2]),
        n_used=np.array([2, 2]),
        total_shift=np.array([0.1, 0.1]),
        density=np.array([1.0, 1.0]),
    )
    assert flags["few_matches"].tolist() == [False, True]


def test_a_missing_theta_or_counts_column_keeps_the_flag():
    xray = pd.DataFrame({"counts": [50.0]})  # no theta: "no central source" cannot be shown false
    flags = qa_flags(
        xray,
        np.array([0]),
        n_match=np.array([2]),
        n_used=np.array([2]),
        total_shift=np.array([0.1]),
        density=np.array([1.0]),
    )
    assert flags["few_matches"].tolist() == [True]


def test_the_descriptions_and_the_user_guide_quote_the_named_thresholds():
    assert set(QA_FLAGS) == {"no_matches", "few_matches", "shift_large", "density_high"}
    assert f"theta < {QA_CENTRAL_THETA:g}'" in QA_FLAGS["few_matches"]
    assert f"more than {QA_BRIGHT_COUNTS:g} counts" in QA_FLAGS["few_matches"]
    assert f'shift > {QA_FEW_MATCHES_SHIFT:g}"' in QA_FLAGS["few_matches"]
    assert f'larger than {QA_MAX_SHIFT:g}"' in QA_FLAGS["shift_large"]
    assert f"more than {QA_MAX_DENSITY:g} reference sources" in QA_FLAGS["density_high"]
    rows = {
        line.split("|")[1].strip(" `"): line
        for line in (ROOT / "docs" / "alignment.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("| `") and line.count("|") >= 4
    }
    few = rows["few_matches"]
    assert f"fewer than {MIN_PAIRS} matches" in few
    assert f"θ < {QA_CENTRAL_THETA:g}′" in few
    assert f"more than {QA_BRIGHT_COUNTS:g} counts" in few
    assert f"total shift > {QA_FEW_MATCHES_SHIFT:g}″" in few
    assert f"> {QA_MAX_SHIFT:g}″" in rows["shift_large"]
    assert f"more than {QA_MAX_DENSITY:g} sources per arcmin²" in rows["density_high"]
