"""Paths to the shipped HST images used by the photometry tests."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTDATA = Path(__file__).resolve().parents[2] / "testdata"
ABELL478 = TESTDATA / "hst-wfpc2-abell478" / "a478hst-cutout.fits"
HDFS = TESTDATA / "hst-wfpc2-hdfs" / "HST-HDFS.fits"
OMEGACEN = TESTDATA / "hst-wfpc2-omegacen-c0f" / "u40x010hm_c0f.fits.gz"
CANDELS = (
    TESTDATA
    / "hst-acs-candels-goodsn"
    / "candels_gn_30mas_189.492060_62.206150_100.0pix-x-100.0pix_astrocut.fits"
)
TUC47 = TESTDATA / "hst-acs-47tuc-flt-header" / "j94f05bgq_flt.fits"


@pytest.fixture(scope="session")
def abell478() -> Path:
    """WFPC2 F814W drizzled cutout of Abell 478 (SCI/WHT/CTX extensions)."""
    return ABELL478


@pytest.fixture(scope="session")
def hdfs() -> Path:
    """WFPC2 F606W drizzled Hubble Deep Field South (DATA extension)."""
    return HDFS


@pytest.fixture(scope="session")
def omegacen() -> Path:
    """WFPC2 F555W c0f GEIS waiver file of Omega Cen (4 chips, per-chip WCS table)."""
    return OMEGACEN


@pytest.fixture(scope="session")
def candels() -> Path:
    """ACS/WFC CANDELS GOODS-N cutouts: F606W, F814W, F850LP in extensions 1-3."""
    return CANDELS


@pytest.fixture(scope="session")
def tuc47_flt() -> Path:
    """ACS/WFC F606W FLT headers of 47 Tuc (1x1 placeholder SCI arrays)."""
    return TUC47
