"""The one check of needed columns and the one numeric-column reader of xrbid.schema."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from xrbid.errors import ColumnError, InputError
from xrbid.schema import (
    SCHEMA,
    _to_canonical_units,
    canonical_name,
    numeric_column,
    require_columns,
    sky_positions,
)


def test_require_columns_names_the_missing_column_and_what_needs_it():
    df = pd.DataFrame({"ra": [1.0]})
    require_columns(df, ["ra"], what="a region file")  # present: no error
    with pytest.raises(ColumnError) as info:
        require_columns(df, ["ra", "dec"], what="a region file", source="m101.ecsv")
    message = str(info.value)
    assert message.startswith("m101.ecsv has no 'dec' column, needed for a region file;")
    # the default advice lists the names the column is read from (the schema's aliases)
    assert "DEC" in message.upper() and "add a column named one of" in message


def test_require_columns_hint_replaces_the_default_advice():
    with pytest.raises(ColumnError, match=r"needed for the search circles; run xrbid pu$"):
        require_columns(
            pd.DataFrame({"ra": [1.0]}),
            ["pu_2sigma"],
            what="the search circles",
            hint="run xrbid pu",
        )


def test_numeric_column_reads_text_numbers_and_keeps_missing_values():
    df = pd.DataFrame({"counts": ["12", None, "3.5"], "theta": [1.0, np.nan, 2.0]})
    assert numeric_column(df, "counts").tolist()[0] == 12.0
    assert np.isnan(numeric_column(df, "counts")[1])
    assert numeric_column(df, "counts")[2] == 3.5
    theta = numeric_column(df, "theta")
    assert theta.dtype == np.float64 and np.isnan(theta[1]) and theta[2] == 2.0


def test_numeric_column_names_how_many_cells_are_not_numbers_and_the_first():
    df = pd.DataFrame({"counts": [1.0, "many", 3.0, "lots"]})
    with pytest.raises(InputError) as info:
        numeric_column(df, "counts", what="source counts")
    assert str(info.value) == (
        "column 'counts' (source counts) must be numeric: 2 row(s) are not numbers "
        "(first: row 1, value 'many'); fix or drop those rows"
    )
    coerced = numeric_column(df, "counts", coerce=True)
    assert coerced[0] == 1.0 and coerced[2] == 3.0 and np.isnan(coerced[[1, 3]]).all()


def test_canonical_name_maps_csc_and_xrbid_headers():
    assert canonical_name("CSC ID") == "source_id"
    assert canonical_name("err_ellipse_r0") == "err_r0"
    assert canonical_name("F555W mag") is None


def test_sky_positions_reads_ra_and_dec_in_degrees_also_from_text():
    ra, dec = sky_positions(pd.DataFrame({"ra": [210.8, "150.1"], "dec": ["54.35", -2.2]}))
    assert ra.dtype == dec.dtype == np.float64
    assert ra.tolist() == [210.8, 150.1]
    assert dec.tolist() == [54.35, -2.2]


def test_sky_positions_names_the_missing_column():
    with pytest.raises(ColumnError, match=r"^cat.ecsv has no 'dec' column, needed for positions;"):
        sky_positions(pd.DataFrame({"ra": [1.0]}), "cat.ecsv")


@pytest.mark.parametrize("bad", [np.nan, None, "n/a"])
def test_sky_positions_counts_rows_without_a_position_and_names_the_first(bad):
    df = pd.DataFrame({"ra": [1.0, 2.0, bad, 4.0, bad], "dec": [1.0, 2.0, 3.0, 4.0, 5.0]})
    with pytest.raises(InputError, match=r"^cat: 2 row\(s\) have no valid RA/Dec \(first: row 2\)"):
        sky_positions(df, "cat")


def test_sky_positions_refuses_a_dec_beyond_the_pole():
    # a Dec of 120 means the columns are not degrees (e.g. hours and degrees swapped)
    with pytest.raises(InputError, match=r"Dec outside \[-90, 90\]"):
        sky_positions(pd.DataFrame({"ra": [10.0], "dec": [120.0]}), "cat")
    sky_positions(pd.DataFrame({"ra": [0.0, 359.9], "dec": [-90.0, 90.0]}))  # the poles are fine


# --- units: the declared spellings of the schema units ------------------------------------------

_SPELLED = [(spec, text) for spec in SCHEMA if spec.unit for text in spec.unit_spellings]


def test_the_csc_units_are_declared_spellings():
    # every unit of the M101 CSCview export is the schema unit or a declared spelling of it
    by_name = {spec.name: spec for spec in SCHEMA}
    assert "erg/s/cm^2" in by_name["flux"].unit_spellings
    assert "erg/s/cm^2" in by_name["flux_lolim"].unit_spellings
    assert "erg/s/cm^2" in by_name["flux_hilim"].unit_spellings
    assert len(_SPELLED) >= 5


@pytest.mark.parametrize(("spec", "text"), _SPELLED, ids=[f"{s.name}:{t}" for s, t in _SPELLED])
def test_every_declared_spelling_is_the_schema_unit_by_astropy(spec, text):
    # astropy.units is the reference: the spelling parses (as a file's unit is parsed) to the
    # same unit, so the conversion a file in this spelling would get is no conversion at all
    from astropy import units as u

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", u.UnitsWarning)  # "multiple slashes": still parsed
        file_unit = u.Unit(text, parse_strict="raise")
    assert not isinstance(file_unit, u.UnrecognizedUnit)
    assert file_unit == u.Unit(spec.unit)
    assert file_unit.to(u.Unit(spec.unit)) == 1.0
    assert text != spec.unit


def test_spellings_of_other_units_are_not_declared():
    # a near miss must not pass as a spelling: these are other units or other scales
    by_name = {spec.name: spec for spec in SCHEMA}
    for col, text in [("flux", "erg/s"), ("flux", "W/m^2"), ("ra", "rad"), ("counts", "s")]:
        assert text not in by_name[col].unit_spellings


def test_declared_spellings_are_read_as_they_are_without_astropy_units():
    # a fresh interpreter: converting a table whose units are all declared spellings (the M101
    # CSC export's) changes no value and does not import astropy.units
    code = """
import json, sys
import pandas as pd
from xrbid.schema import _to_canonical_units
df = pd.DataFrame({"ra": [1.5], "dec": [2.5], "theta": [3.0], "counts": [4.0],
                   "flux": [5e-15], "err_ang": [6.0], "exptime": [7.0]})
units = {"ra": "deg", "dec": "degree", "theta": "arcmin", "counts": "count",
         "flux": "erg/s/cm^2", "err_ang": "deg", "exptime": "s"}
_to_canonical_units(df, units, "t")
print(json.dumps([df.iloc[0].tolist(), "astropy.units" in sys.modules]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    values, imported = json.loads(out.stdout)
    assert values == [1.5, 2.5, 3.0, 4.0, 5e-15, 6.0, 7.0]
    assert imported is False


def test_any_other_unit_text_is_converted_by_astropy():
    # not declared: parsed by astropy and converted (1 W m-2 = 1e7 erg/s / 1e4 cm2 = 1e3 erg/s/cm2;
    # 1 arcsec = 1/3600 deg; 1 ks = 1000 s)
    df = pd.DataFrame({"flux": [2.0], "ra": [36.0], "exptime": [1.5], "counts": [7.0]})
    units = {"flux": "W m-2", "ra": "arcsec", "exptime": "ks", "counts": "count"}
    _to_canonical_units(df, units, "t")
    assert df["flux"].iloc[0] == pytest.approx(2.0e3, rel=1e-15)
    assert df["ra"].iloc[0] == pytest.approx(0.01, rel=1e-15)
    assert df["exptime"].iloc[0] == pytest.approx(1500.0, rel=1e-15)
    assert df["counts"].iloc[0] == 7.0


@pytest.mark.parametrize(
    ("col", "text"),
    [("theta", "ARCSEC"), ("theta", "''"), ("flux", "ERG/S/CM^2"), ("err_ang", "Deg"), ("ra", "?")],
)
def test_a_unit_astropy_does_not_know_is_used_as_it_is_with_a_warning(col, text):
    # no conversion can be made: the values stay, and the user is told the unit they are taken
    # in, since the file's may be of another scale (theta in ARCSEC would be 60 times too big)
    from xrbid.errors import XrbidWarning

    df = pd.DataFrame({col: [2.5], "other": [1.0]})
    with pytest.warns(XrbidWarning) as record:
        _to_canonical_units(df, {col: text, "other": "ARCSEC"}, "t.fits")
    assert [str(w.message) for w in record] == [
        f"t.fits: column {col!r} has the unit {text!r}, which astropy does not know; its values "
        f"are taken to be in {next(s.unit for s in SCHEMA if s.name == col)}"
    ]
    assert df[col].iloc[0] == 2.5 and df["other"].iloc[0] == 1.0


def test_a_unit_of_another_kind_is_still_refused():
    df = pd.DataFrame({"flux": [2.0]})
    with pytest.raises(ColumnError, match=r"'flux' is in erg/s, which cannot be converted"):
        _to_canonical_units(df, {"flux": "erg/s"}, "t")


def test_the_m101_votable_reads_without_astropy_units(m101_vot):
    # the CSC export's flux is written erg/s/cm^2: read as written, the values of the file
    code = f"""
import json, sys
from xrbid.tables import read_table
df = read_table({str(m101_vot)!r})
print(json.dumps([df["flux"].tolist(), "astropy.units" in sys.modules]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    flux, imported = json.loads(out.stdout)
    assert imported is False
    reference = _fluxes(m101_vot)
    assert len(flux) == len(reference) == 3492
    np.testing.assert_array_equal(np.array(flux, dtype=float), reference)


def _fluxes(path) -> np.ndarray:
    """The flux_aper_b column (NaN where empty), read by astropy's VOTable parser."""
    from astropy.io.votable import parse_single_table

    values = parse_single_table(str(path)).array["flux_aper_b"]
    return np.ma.filled(values.astype(float), np.nan)
