"""The settings shared by `align_wls` and `align_wls_stacks` (xrbid.align.wls_settings)."""

from __future__ import annotations

import pandas as pd
import pytest

from xrbid.align.wls_settings import check_wls_values, fit_options, xray_selection
from xrbid.errors import InputError

FIT = {
    "loss": "linear",
    "f_scale": 2.0,
    "bounds": "2arcsec",
    "max_sep": "0.05arcmin",  # 3 arcsec
    "group_edges": (1, 2, 4),
    "min_matches": 5,
    "solver": "mm",
}


def test_fit_options_reads_the_fit_keywords_of_the_arguments_and_converts_the_angles():
    options = fit_options({**FIT, "pm_limit": 50.0, "xray": object()})  # others are ignored
    assert options.loss == "linear"
    assert options.f_scale == 2.0
    assert options.bound == pytest.approx(2.0)  # arcsec
    assert options.max_sep == pytest.approx(3.0)  # 0.05' = 3"
    assert options.group_edges == (1.0, 2.0, 4.0)
    assert options.min_matches == 5
    assert options.solver == "mm"


def test_fit_options_caps_the_match_radius_at_the_last_group_edge():
    assert fit_options({**FIT, "max_sep": 10.0}).max_sep == 4.0


def test_fit_options_refuses_an_unknown_loss():
    with pytest.raises(InputError, match="loss='l3' is not known"):
        fit_options({**FIT, "loss": "l3"})


def test_fit_options_names_a_missing_keyword():
    arguments = dict(FIT)
    del arguments["solver"]
    with pytest.raises(KeyError, match="solver"):
        fit_options(arguments)


def test_xray_selection_applies_the_selection_keywords_of_the_arguments():
    # theta in arcmin; the cut is "strictly below max_theta"
    xray = pd.DataFrame(
        {
            "source_id": ["2CXO J1", "2CXO J2X", "2CXO J3", "2CXO J4", "2CXO J5"],
            "theta": [1.0, 1.0, 6.0, 2.0, 3.0],
            "sat_src_flag": [False, False, False, True, False],
            "likelihood": ["TRUE", "TRUE", "TRUE", "TRUE", "FALSE"],
        }
    )
    everything = {
        "max_theta": "5arcmin",
        "exclude_saturated": True,
        "exclude_convex_hull": True,
        "likelihood_classes": ("TRUE", "MARGINAL"),
        "loss": "cauchy",  # not a selection keyword: ignored
    }
    sel = xray_selection(xray, everything)
    assert sel.keep.tolist() == [True, False, False, False, False]
    assert sel.removed == {"off_axis": 1, "saturated": 1, "convex_hull": 1, "likelihood": 1}

    nothing = {
        "max_theta": None,
        "exclude_saturated": False,
        "exclude_convex_hull": False,
        "likelihood_classes": None,
    }
    assert xray_selection(xray, nothing).keep.all()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"pm_limit": -1.0}, "proper-motion limit must be >= 0"),
        ({"density": float("nan")}, "must be a finite number >= 0"),
        ({"ref_point": (361.0, 0.0)}, "off the sky"),
        ({"ref_point": (10.0, -91.0)}, "off the sky"),
    ],
)
def test_check_wls_values_refuses_values_no_sky_or_catalogue_can_have(values, message):
    arguments = {"pm_limit": None, "density": None, "ref_point": None, **values}
    with pytest.raises(InputError, match=message):
        check_wls_values(**arguments)


def test_check_wls_values_accepts_the_edges_of_the_valid_ranges():
    check_wls_values(pm_limit=0.0, density=0.0, ref_point=(0.0, 90.0))
