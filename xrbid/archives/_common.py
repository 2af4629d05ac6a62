"""What the archive clients share: settings, argument checks, messages, table conversion."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd
from astropy.table import Table

from ..errors import InputError

DEFAULT_TIMEOUT = 120.0


def _timeout(timeout: float | None) -> float:
    if timeout is not None:
        return float(timeout)
    return float(os.environ.get("XRBID_ARCHIVE_TIMEOUT", DEFAULT_TIMEOUT))


def _center(center: Any) -> tuple[float, float]:
    """(ra, dec) in degrees from a SkyCoord or a pair of numbers in degrees."""
    if hasattr(center, "icrs"):
        c = center.icrs
        ra, dec = float(c.ra.deg), float(c.dec.deg)
    else:
        try:
            ra, dec = (float(v) for v in center)
        except (TypeError, ValueError):
            raise InputError(
                f"centre {center!r} is not a sky position; give (ra, dec) in degrees"
            ) from None
    # reject rather than wrap: RA 410.8 is a typo more often than a deliberate 50.8
    if not (np.isfinite(ra) and 0.0 <= ra <= 360.0):
        raise InputError(
            f"centre RA {ra:g} is outside [0, 360] degrees; give RA in degrees within [0, 360]"
        )
    if not (np.isfinite(dec) and -90.0 <= dec <= 90.0):
        raise InputError(
            f"centre Dec {dec:g} is outside [-90, 90] degrees; give Dec in degrees within [-90, 90]"
        )
    return ra % 360.0, dec


def _radius_arcsec(radius: Any) -> float:
    """Radius in arcsec from a Quantity or a number in arcsec."""
    if hasattr(radius, "unit"):
        value = float(radius.to_value("arcsec"))
    else:
        value = float(radius)
    if not np.isfinite(value) or value <= 0:
        raise InputError(f"search radius {radius!r} must be a positive angle")
    return value


def _first(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] if text else type(exc).__name__


def _transport_message(what: str, url: str, exc: BaseException, timeout: float) -> str:
    import requests

    if isinstance(exc, (requests.Timeout, TimeoutError)):
        return (
            f"{what} at {url} did not answer within {timeout:g} s; try again later, "
            "or raise XRBID_ARCHIVE_TIMEOUT"
        )
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status is None:
        status = getattr(exc, "code", None)
    if status:
        return f"{what} at {url} answered HTTP {status}: {_first(exc)}; try again later"
    if isinstance(exc, (requests.ConnectionError, ConnectionError, OSError)):
        return (
            f"cannot reach {what} at {url} ({_first(exc)}); check the network, "
            "or work offline from the cache (XRBID_OFFLINE=1)"
        )
    return f"{what} at {url} failed: {_first(exc)}"


def _to_pandas(table: Table) -> pd.DataFrame:
    """Table -> DataFrame with masked values as NaN/None and text columns as str."""
    data = {}
    for name in table.colnames:
        col = table[name]
        values = np.ma.asarray(col)
        if values.dtype.kind in "SU" or values.dtype == object:
            filled = np.ma.filled(values.astype(object), None)
            data[name] = [v.decode() if isinstance(v, bytes) else v for v in filled]
            data[name] = pd.Series(data[name], dtype=object)
        elif values.dtype.kind == "b":
            data[name] = np.ma.filled(values, False)
        elif values.dtype.kind in "iu" and np.ma.is_masked(values):
            data[name] = np.ma.filled(values.astype(float), np.nan)
        elif values.dtype.kind == "f":
            data[name] = np.ma.filled(values, np.nan)
        else:
            data[name] = np.ma.getdata(values)
    return pd.DataFrame(data, index=pd.RangeIndex(len(table)))
