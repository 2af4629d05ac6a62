"""Real HST images, X-ray positions placed on them, and the candidates found around them."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from tests.photometry.conftest import ABELL478, CANDELS
from xrbid.photometry import detect_sources, load_image, photometer_counterparts
from xrbid.selection import find_counterparts

# X-ray positions for the figure tests, placed by hand near stars of the Abell 478 image
# (deg), with radii (arcsec) typical of CSC sources a few arcmin off axis
A478_XRAY = pd.DataFrame(
    {
        "source_id": ["X1", "X2", "X3"],
        "ra": [63.3554, 63.3580, 63.3450],
        "dec": [10.4692, 10.4584, 10.4637],
        "pu_1sigma": [0.6, 0.8, 0.5],
        "pu_2sigma": [1.2, 1.6, 1.0],
    }
)


@pytest.fixture(scope="session")
def a478_image():
    return load_image(ABELL478)


@pytest.fixture(scope="session")
def a478_detections(a478_image):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return detect_sources(a478_image, fwhm=2.5)


@pytest.fixture(scope="session")
def a478_xray() -> pd.DataFrame:
    return A478_XRAY.copy()


@pytest.fixture(scope="session")
def a478_candidates(a478_xray, a478_detections) -> pd.DataFrame:
    return find_counterparts(a478_xray, a478_detections)


def candels_images_by_filter() -> dict:
    return {f: load_image(CANDELS, ext=i) for i, f in ((1, "F606W"), (2, "F814W"), (3, "F850LP"))}


def candels_photometry(candels_images: dict) -> pd.DataFrame:
    """Photometry (AB) in three filters of the sources detected on the F814W cutout."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        det = detect_sources(candels_images["F814W"], fwhm=3.0)
        cands = pd.DataFrame(
            {
                "source_id": [f"CXO {i // 2 + 1}" for i in range(len(det))],
                "rank": [i % 2 + 1 for i in range(len(det))],
                "ra": det["ra"].to_numpy(),
                "dec": det["dec"].to_numpy(),
            }
        )
        return photometer_counterparts(
            cands, candels_images, radius=4.0, apcorr=None, system="ab", distance_modulus=29.0
        )


@pytest.fixture(scope="session")
def candels_images():
    return candels_images_by_filter()


@pytest.fixture(scope="session")
def candels_phot(candels_images) -> pd.DataFrame:
    return candels_photometry(candels_images)
