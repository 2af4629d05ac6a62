"""Interstellar extinction of HST magnitudes: A_lambda per filter, dereddening, the CMD vector.

Each filter is reddened as a monochromatic source at its pivot wavelength (the image's PHOTPLAM
keyword, or a shipped table for ACS/WFC, WFC3/UVIS and WFPC2). The extinction curve is
Fitzpatrick (1999, PASP 111, 63; "F99") by default or Cardelli, Clayton & Mathis (1989, ApJ 345,
245; "CCM89"), both through the ``dust_extinction`` package (Gordon 2024, JOSS 9, 7023), with
R_V = A_V / E(B-V) = 3.1 by default.

E(B-V) convention
-----------------
``ebv`` is expected on the scale of Schlafly & Finkbeiner (2011, ApJ 737, 103; "SF11"), i.e. the
recalibrated value that the IRSA dust service and NED list as "S&F". A reddening read from the
original Schlegel, Finkbeiner & Davis (1998, ApJ 500, 525; "SFD") maps is 14 % too high for an
F99 R_V = 3.1 law: pass ``ebv_scale="sfd"`` and it is multiplied by 0.86 (SF11's
recalibration of SFD for this law).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from astropy import units as u

from xrbid.errors import ColumnError, InputError

from .reference_data import _read

__all__ = [
    "EXTINCTION_LAWS",
    "SFD_TO_SF11",
    "a_lambda",
    "a_over_ebv",
    "deredden",
    "extinction_vector",
    "pivot_wavelength",
]

EXTINCTION_LAWS = ("F99", "CCM89")
SFD_TO_SF11 = 0.86  # Schlafly & Finkbeiner 2011: E(B-V)_SF11 = 0.86 E(B-V)_SFD
_PIVOT_FILES = {
    "ACS/WFC": ("acs_wfc_pivot.csv", "pivot_wavelength"),
    "WFC3/UVIS": ("wfc3_uvis1_eef.csv", "pivot_wavelength"),
    "WFPC2": ("wfpc2_pivot.csv", "pivot_wavelength"),
}
_MAG_COLUMN = re.compile(r"^(?P<filter>.+)_mag$")


def _law(law: str, rv: float):
    from dust_extinction.parameter_averages import CCM89, F99

    key = str(law).upper().replace(" ", "")
    models = {"F99": F99, "FITZPATRICK99": F99, "CCM89": CCM89, "CARDELLI89": CCM89}
    if key not in models:
        raise InputError(f"unknown extinction law {law!r}; use one of {', '.join(EXTINCTION_LAWS)}")
    model = models[key]
    lo, hi = model.Rv_range
    if not lo <= rv <= hi:
        raise InputError(f"R_V = {rv} is outside the range of {key} ({lo}-{hi}); pick R_V in it")
    return model(Rv=rv)


def a_over_ebv(wavelength: Any, *, law: str = "F99", rv: float = 3.1) -> np.ndarray:
    """Extinction per unit reddening, ``A_lambda / E(B-V) = R_V * A_lambda / A_V``.

    Parameters
    ----------
    wavelength : float, array_like or Quantity
        Wavelength(s); plain numbers are Angstrom.
    law : {"F99", "CCM89"}
        Fitzpatrick (1999) or Cardelli, Clayton & Mathis (1989), as implemented by
        ``dust_extinction.parameter_averages``.
    rv : float
        R_V = A_V / E(B-V).

    Returns
    -------
    numpy.ndarray
        A_lambda / E(B-V), same shape as ``wavelength``.

    Raises
    ------
    InputError
        Unknown law, R_V outside the law's range, or a wavelength outside 1000 A - 3.3 um.

    Examples
    --------
    >>> round(float(a_over_ebv(5359.6, law="CCM89")), 3)  # ACS/WFC F555W
    3.191
    """
    model = _law(law, rv)
    wave = u.Quantity(wavelength, u.AA) if not isinstance(wavelength, u.Quantity) else wavelength
    x = (1.0 / wave.to(u.micron)).value
    lo, hi = model.x_range
    if np.any((x < lo) | (x > hi)):
        raise InputError(
            f"wavelength outside the range of {law} ({1e4 / hi:.0f}-{1e4 / lo:.0f} A); "
            "check the filter's pivot wavelength"
        )
    return np.asarray(model(wave), float) * rv


@cache
def _pivot_table(camera: str) -> pd.Series:
    name, column = _PIVOT_FILES[camera]
    df = _read(name)
    return pd.Series(df[column].to_numpy(float), index=df["filter"].str.strip().str.upper())


def pivot_wavelength(
    filter_name: str, camera: str = "ACS/WFC", header: Mapping[str, Any] | None = None
) -> float:
    """Pivot wavelength of an HST filter in Angstrom.

    The image header's ``PHOTPLAM`` wins when given; otherwise the shipped table of
    ``camera``: ACS/WFC from the STScI synphot filter tables (= Sirianni et al. 2005, Table 10),
    WFC3/UVIS1 from the STScI UVIS encircled-energy table (Deustua et al. 2017), WFPC2 from the
    PHOTPLAM of archive images (F555W, F606W, F814W only). See ``xrbid/data/*pivot*.csv``.

    Parameters
    ----------
    filter_name : str
        e.g. ``"F555W"`` (case-insensitive).
    camera : {"ACS/WFC", "WFC3/UVIS", "WFPC2"}
        Which table to look in.
    header : mapping, optional
        An image header; its ``PHOTPLAM`` is used when present and positive.

    Raises
    ------
    InputError
        Unknown camera, or a filter not in the camera's table (the message lists them).
    """
    if header is not None:
        value = header.get("PHOTPLAM")
        if isinstance(value, int | float) and value > 0:
            return float(value)
    key = str(camera).strip().upper()
    if key not in _PIVOT_FILES:
        raise InputError(
            f"no pivot-wavelength table for camera {camera!r}; use one of "
            f"{', '.join(_PIVOT_FILES)} or give the pivot (--pivot {filter_name}=ANGSTROM)"
        )
    table = _pivot_table(key)
    name = str(filter_name).strip().upper()
    if name not in table.index:
        raise InputError(
            f"filter {filter_name} is not in the {key} pivot table ({', '.join(table.index)}); "
            f"give its pivot wavelength (--pivot {name}=ANGSTROM, pivots={{'{name}': ...}})"
        )
    return float(table[name])


def _pivots(
    filters: Iterable[str], camera: str, pivots: Mapping[str, float] | None
) -> dict[str, float]:
    given = {str(k).upper(): float(v) for k, v in (pivots or {}).items()}
    return {f: given.get(f.upper()) or pivot_wavelength(f, camera) for f in filters}


def _ebv_value(ebv: Any, ebv_scale: str) -> Any:
    scale = str(ebv_scale).lower()
    if scale not in ("sf11", "sfd"):
        raise InputError(f"unknown E(B-V) scale {ebv_scale!r}; use sf11 or sfd")
    value = np.asarray(ebv, float)
    if np.any(value < 0) or not np.all(np.isfinite(value)):
        raise InputError(f"E(B-V) must be a finite number >= 0, got {ebv}")
    return value * (SFD_TO_SF11 if scale == "sfd" else 1.0)


def a_lambda(
    filters: Iterable[str],
    ebv: float,
    *,
    law: str = "F99",
    rv: float = 3.1,
    camera: str = "ACS/WFC",
    pivots: Mapping[str, float] | None = None,
    ebv_scale: str = "sf11",
) -> dict[str, float]:
    """Extinction A_lambda (mag) of each filter for a reddening E(B-V).

    Parameters
    ----------
    filters : iterable of str
        Filter names, e.g. ``["F555W", "F814W"]``.
    ebv : float
        E(B-V) in mag, on the Schlafly & Finkbeiner (2011) scale unless ``ebv_scale="sfd"``.
    law, rv
        See `a_over_ebv`.
    camera : str
        Pivot-wavelength table for filters not in ``pivots`` (see `pivot_wavelength`).
    pivots : mapping, optional
        Pivot wavelengths (Angstrom) per filter, e.g. the images' PHOTPLAM.
    ebv_scale : {"sf11", "sfd"}
        ``"sfd"`` multiplies ``ebv`` by 0.86 (SFD98 map values onto the SF11 scale).

    Returns
    -------
    dict
        Filter name -> A_lambda in mag.

    Examples
    --------
    >>> a = a_lambda(["F555W", "F814W"], 0.1, law="CCM89")
    >>> round(a["F555W"], 3), round(a["F814W"], 3)
    (0.319, 0.183)
    """
    filters = list(filters)
    piv = _pivots(filters, camera, pivots)
    ebv_v = float(_ebv_value(ebv, ebv_scale))
    ratios = a_over_ebv(np.array([piv[f] for f in filters]), law=law, rv=rv)
    return {f: float(r * ebv_v) for f, r in zip(filters, ratios)}


def _table_filters(table: pd.DataFrame) -> list[str]:
    found = []
    for col in table.columns:
        m = _MAG_COLUMN.match(str(col))
        if m and not m["filter"].endswith(("_abs", "_dered")):
            found.append(m["filter"])
    return found


def deredden(
    table: pd.DataFrame,
    ebv: Any,
    *,
    filters: Iterable[str] | None = None,
    law: str = "F99",
    rv: float = 3.1,
    camera: str = "ACS/WFC",
    pivots: Mapping[str, float] | None = None,
    ebv_scale: str = "sf11",
    distance_modulus: float | None = None,
) -> pd.DataFrame:
    """Add extinction, dereddened magnitudes and colours to a photometry table.

    Parameters
    ----------
    table : pandas.DataFrame
        Candidates with ``<f>_mag`` columns (e.g. ``f555w_mag``, as written by
        `photometer_counterparts`); ``<b>_<r>`` colour columns are dereddened too.
    ebv : float or array_like
        E(B-V) (mag): one value (foreground) or one per row (foreground + internal).
    filters : iterable of str, optional
        Filters to use (default: every ``<f>_mag`` column).
    law, rv, camera, pivots, ebv_scale
        See `a_lambda`.
    distance_modulus : float, optional
        When given, ``<f>_abs_mag_dered = <f>_mag_dered - distance_modulus`` is added.

    Returns
    -------
    pandas.DataFrame
        A copy with ``a_<f>`` (A_lambda, mag), ``<f>_mag_dered`` and, for every colour column
        ``<b>_<r>`` present, ``<b>_<r>_dered``. ``attrs["extinction"]`` records the law, R_V,
        E(B-V) convention and the pivot wavelengths used.

    Raises
    ------
    ColumnError
        No ``<f>_mag`` column, or a named filter without one.
    InputError
        See `a_lambda`; also an ``ebv`` array of the wrong length.
    """
    names = list(filters) if filters is not None else _table_filters(table)
    if not names:
        raise ColumnError(
            "no <filter>_mag columns to deredden (e.g. f555w_mag); run `xrbid phot counterparts` "
            "first or name the filters"
        )
    missing = [f for f in names if f"{f.lower()}_mag" not in table.columns]
    if missing:
        raise ColumnError(f"no magnitude column for {', '.join(missing)} (expected <filter>_mag)")
    ebv_v = _ebv_value(ebv, ebv_scale)
    if ebv_v.ndim and ebv_v.shape != (len(table),):
        raise InputError(
            f"E(B-V) has {ebv_v.size} values for {len(table)} rows; give one or one per row"
        )
    piv = _pivots([f.upper() for f in names], camera, pivots)
    ratio = dict(zip(piv, a_over_ebv(np.array(list(piv.values())), law=law, rv=rv)))
    out = table.copy()
    for f in names:
        key = f.lower()
        a = np.broadcast_to(ratio[f.upper()] * ebv_v, (len(out),))
        out[f"a_{key}"] = a
        out[f"{key}_mag_dered"] = out[f"{key}_mag"].to_numpy(float) - a
        if distance_modulus is not None:
            out[f"{key}_abs_mag_dered"] = out[f"{key}_mag_dered"] - float(distance_modulus)
    keys = [f.lower() for f in names]
    for blue in keys:
        for red in keys:
            if blue != red and f"{blue}_{red}" in out.columns:
                out[f"{blue}_{red}_dered"] = out[f"{blue}_{red}"].to_numpy(float) - (
                    out[f"a_{blue}"] - out[f"a_{red}"]
                )
    out.attrs = dict(table.attrs)
    out.attrs["extinction"] = {
        "law": str(law).upper(),
        "rv": float(rv),
        "ebv": ebv_v.tolist() if ebv_v.ndim else float(ebv_v),
        "ebv_scale": "SF11 (Schlafly & Finkbeiner 2011)",
        "ebv_given_on": str(ebv_scale).lower(),
        "pivot_wavelength_A": piv,
    }
    return out


def extinction_vector(
    blue: str,
    red: str,
    mag: str | None = None,
    *,
    ebv: float = 1.0,
    law: str = "F99",
    rv: float = 3.1,
    camera: str = "ACS/WFC",
    pivots: Mapping[str, float] | None = None,
    ebv_scale: str = "sf11",
) -> tuple[float, float]:
    """The reddening vector of a colour-magnitude diagram.

    Parameters
    ----------
    blue, red : str
        Filters of the colour ``blue - red`` (x axis).
    mag : str, optional
        Filter of the magnitude axis (default: ``red``).
    ebv : float
        Length of the vector in E(B-V) (default 1 mag).
    law, rv, camera, pivots, ebv_scale
        See `a_lambda`.

    Returns
    -------
    (float, float)
        ``(A_blue - A_red, A_mag)``: how far a star moves right (redder) and down (fainter)
        on the CMD for this E(B-V).

    Examples
    --------
    >>> dc, dm = extinction_vector("F555W", "F814W", "F555W", ebv=0.1, law="CCM89")
    >>> round(dc, 3), round(dm, 3)
    (0.137, 0.319)
    """
    mag = red if mag is None else mag
    a = a_lambda(
        {blue, red, mag},
        ebv,
        law=law,
        rv=rv,
        camera=camera,
        pivots=pivots,
        ebv_scale=ebv_scale,
    )
    return a[blue] - a[red], a[mag]
