"""Counterpart photometry in several filters: one row per candidate, colours, flags."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xrbid.errors import ColumnError, InputError
from xrbid.photometry import (
    detect_sources,
    load_image,
    measure_magnitudes,
    photometer_counterparts,
)
from xrbid.photometry.counterparts import check_filter
from xrbid.photometry.image_spec import parse_image_spec


@pytest.fixture(scope="module")
def images(candels):
    return {f: load_image(candels, ext=i) for i, f in ((1, "F606W"), (2, "F814W"), (3, "F850LP"))}


@pytest.fixture(scope="module")
def candidates(images):
    found = detect_sources(images["F606W"], fwhm=3.0)
    cands = found[["ra", "dec"]].copy()
    cands.insert(0, "source_id", [f"X{i % 4}" for i in range(len(cands))])
    # one candidate outside the 3" cutout
    extra = pd.DataFrame({"source_id": ["X9"], "ra": [189.5], "dec": [62.21]})
    return pd.concat([cands, extra], ignore_index=True)


@pytest.fixture(scope="module")
def table(images, candidates):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return photometer_counterparts(
            candidates, images, radius=4.0, apcorr=None, system="ab", distance_modulus=29.0
        )


def test_one_row_per_candidate(table, candidates):
    assert len(table) == len(candidates)
    assert table["source_id"].tolist() == candidates["source_id"].tolist()
    assert table.attrs["filters"] == ["F606W", "F814W", "F850LP"]  # by pivot wavelength


def test_colours_are_magnitude_differences(table):
    np.testing.assert_allclose(table["f606w_f814w"], table["f606w_mag"] - table["f814w_mag"])
    np.testing.assert_allclose(
        table["f606w_f814w_err"], np.hypot(table["f606w_mag_err"], table["f814w_mag_err"])
    )
    assert "f814w_f850lp" in table and "f606w_f850lp" not in table


def test_absolute_magnitudes(table):
    np.testing.assert_allclose(table["f814w_abs_mag"], table["f814w_mag"] - 29.0)


def test_same_as_single_image_measurement(table, images, candidates):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        single = measure_magnitudes(
            images["F814W"], candidates[["ra", "dec"]], radius=4.0, apcorr=None
        )
    np.testing.assert_allclose(table["f814w_mag"], single["mag_ab"])


def test_outside_candidate_flagged_with_nan(table):
    row = table.iloc[-1]
    assert row["f606w_flag_outside"] and np.isnan(row["f606w_mag"])


def test_candidates_without_coordinates(images):
    with pytest.raises(ColumnError, match="lacks dec"):
        photometer_counterparts(pd.DataFrame({"ra": [1.0]}), images)
    with pytest.raises(InputError, match="no images"):
        photometer_counterparts(pd.DataFrame({"ra": [1.0], "dec": [2.0]}), {})


OMEGACEN = (
    Path(__file__).resolve().parents[2] / "testdata/hst-wfpc2-omegacen-c0f/u40x010hm_c0f.fits.gz"
)


@pytest.mark.parametrize(
    "load, header_filter",
    [
        (lambda candels: load_image(candels, ext=2), "F814W"),  # MEF extension 2
        (lambda candels: load_image(OMEGACEN, chip=2), "F555W"),  # GEIS waiver group 2
    ],
)
def test_filter_mismatch_suggests_the_argument_that_loads_the_same_image(
    candels, load, header_filter
):
    """The suggested FILTER=IMAGE keeps the extension or chip: without it another part loads."""
    image = load(candels)
    with pytest.raises(InputError, match=f"give it as {header_filter}=") as info:
        check_filter("F336W", image)
    suggested = str(info.value).split(f"give it as {header_filter}=")[1]
    spec = parse_image_spec(suggested)
    again = load_image(spec.path, **spec.options)
    assert again.filter.strip().upper() == header_filter
    np.testing.assert_array_equal(again.data, image.data)
    check_filter(header_filter, again)
