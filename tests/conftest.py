"""Shared test fixtures: paths to the shipped real data."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["tests.ds9_session"]

ROOT = Path(__file__).resolve().parent.parent
TESTDATA = ROOT / "testdata"


@pytest.fixture(scope="session")
def testdata() -> Path:
    """The repository's ``testdata/`` folder (real CSC, HST and region files)."""
    return TESTDATA


@pytest.fixture(scope="session")
def m101_vot() -> Path:
    """The CSCview VOTable of 3492 CSC detections around M101."""
    return TESTDATA / "csc-m101" / "cscresults_M101.vot"
