"""The calibration tables shipped in ``xrbid/data`` (EEF curves, AB - Vega offsets)."""

from __future__ import annotations

from functools import cache
from importlib import resources

import pandas as pd

__all__ = ["ab_minus_vega", "camera_key", "eef_table"]

_EEF_FILES = {"ACS/WFC": "acs_wfc_eef.csv", "WFC3/UVIS": "wfc3_uvis1_eef.csv"}
_AB_MINUS_VEGA_FILE = "hst_ab_minus_vega.csv"


def camera_key(instrument: str, detector: str) -> str:
    """``"ACS/WFC"``, ``"WFC3/UVIS"``, ``"WFPC2"``... from INSTRUME and DETECTOR."""
    instrument = instrument.strip().upper()
    detector = detector.strip().upper()
    if instrument in ("ACS", "WFC3") and detector:
        return f"{instrument}/{detector}"
    return instrument


def _read(name: str) -> pd.DataFrame:
    with resources.files("xrbid.data").joinpath(name).open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, comment="#")


@cache
def eef_table(camera: str) -> pd.DataFrame | None:
    """EEF table of ``camera`` indexed by filter (columns: radius in arcsec), or `None`.

    The last column is the reference ("infinite") aperture, where the EEF is 1.
    """
    name = _EEF_FILES.get(camera)
    if name is None:
        return None
    df = _read(name).set_index("filter").drop(columns="pivot_wavelength", errors="ignore")
    df.columns = [float(c) for c in df.columns]
    return df


@cache
def _ab_minus_vega_table() -> dict[tuple[str, str], float]:
    df = _read(_AB_MINUS_VEGA_FILE)
    keys = zip(df["camera"].str.strip(), df["filter"].str.strip().str.upper(), strict=True)
    return dict(zip(keys, df["ab_minus_vega"].to_numpy(float), strict=True))


def ab_minus_vega(camera: str, filter_name: str) -> float | None:
    """``m_AB - m_Vega`` of ``filter_name`` on ``camera`` (mag), or `None` when not tabulated.

    Parameters
    ----------
    camera : str
        ``"ACS/WFC"``, ``"WFC3/UVIS"`` or ``"WFPC2"`` (see `camera_key`).
    filter_name : str
        HST filter name, e.g. ``"F606W"`` (case-insensitive).

    Notes
    -----
    From ``xrbid/data/hst_ab_minus_vega.csv``: the solar AB and Vega magnitudes tabulated by
    FSPS (Conroy, Gunn & White 2009; ``data/magsun.dat``), whose difference is the same for
    every source in a filter. Two decimals (+-0.01 mag).

    Examples
    --------
    >>> ab_minus_vega("ACS/WFC", "F606W")
    0.08
    """
    value = _ab_minus_vega_table().get((camera, filter_name.strip().upper()))
    return None if value is None else float(value)
