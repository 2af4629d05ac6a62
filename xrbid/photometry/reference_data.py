"""The calibration tables shipped in ``xrbid/data`` (EEF curves, Vega zero points)."""

from __future__ import annotations

from functools import cache
from importlib import resources

import pandas as pd

__all__ = ["camera_key", "eef_table", "vega_table"]

_EEF_FILES = {"ACS/WFC": "acs_wfc_eef.csv", "WFC3/UVIS": "wfc3_uvis1_eef.csv"}
_VEGA_FILES = {"ACS/WFC": "acs_wfc_vega.csv", "WFC3/UVIS": "wfc3_uvis1_vega.csv"}


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
def vega_table(camera: str) -> pd.Series | None:
    """Vega zero points of ``camera`` indexed by filter, or `None`."""
    name = _VEGA_FILES.get(camera)
    if name is None:
        return None
    df = _read(name)
    return pd.Series(df["vega_zeropoint"].to_numpy(float), index=df["filter"].str.strip())
