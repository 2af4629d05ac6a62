"""What the archive clients share: settings, argument checks, messages, table conversion."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from astropy.table import Table

from ..errors import ArchiveError, InputError
from .cache import cached_answer

DEFAULT_TIMEOUT = 120.0


def _timeout(timeout: float | None) -> float:
    if timeout is not None:
        return float(timeout)
    return float(os.environ.get("XRBID_ARCHIVE_TIMEOUT", DEFAULT_TIMEOUT))


def ask_archive(
    query: str,
    run: Callable[[str, str, float], Table],
    *,
    url: str | None,
    env: str,
    default_url: str,
    fmt: str,
    timeout: float | None,
    cache: str | os.PathLike | bool | None,
    offline: bool | None,
    what: str,
) -> Table:
    """The answer of an archive to ``query``: from the cache, or asked with ``run`` and kept.

    Parameters
    ----------
    query : str
        The query (ADQL).
    run : callable
        ``run(service, query, timeout)`` asks the service and returns its table.
    url : str or None
        The service address given; None: ``$<env>``, else ``default_url``.
    env : str
        The environment variable that may name the service (e.g. ``XRBID_CSC_TAP_URL``).
    default_url : str
        The service's public address.
    fmt : str
        The format asked of the service (part of the cache key, with address and query).
    timeout : float or None
        Seconds to wait; None: ``$XRBID_ARCHIVE_TIMEOUT``, else `DEFAULT_TIMEOUT`.
    cache, offline
        See `~xrbid.archives.cache.cached_answer`.
    what : str
        The archive's name in messages (``"CSC"``, ``"Gaia"``).

    Raises
    ------
    ArchiveError
        Whatever ``run`` raises, or (offline) no cached answer.
    """
    service = url or os.environ.get(env) or default_url
    wait = _timeout(timeout)
    return cached_answer(
        service,
        query,
        fmt,
        lambda: run(service, query, wait),
        cache=cache,
        offline=offline,
        what=what,
    )


#: The numpydoc description of a cone, as `_center` and `_radius_arcsec` read it; inserted in
#: the docstrings of `query_csc` and `query_gaia` with `xrbid._docs.insert_doc`.
CONE_PARAMETERS = """\
center : SkyCoord or (float, float)
    Cone centre; a pair is (ra, dec) in degrees.
radius : Quantity or float
    Cone radius; a number is in arcsec."""


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


def check_query_status(status: str | None, rows: int, what: str, url: str) -> None:
    """Refuse a TAP answer whose ``QUERY_STATUS`` says it is incomplete or failed.

    A TAP service that stops at its row limit still answers HTTP 200 with a well-formed VOTable,
    flagged only by ``<INFO name="QUERY_STATUS" value="OVERFLOW"/>`` (IVOA TAP 1.1, sect. 2.9;
    DALI 1.1, sect. 4.4.1). Such an answer must never be taken, or cached, as the whole cone.

    Parameters
    ----------
    status : str or None
        The answer's QUERY_STATUS value (None or empty: none given, taken as OK).
    rows : int
        Rows the answer holds.
    what, url : str
        The service's name and address, for the message.

    Raises
    ------
    ArchiveError
        The status is OVERFLOW, ERROR or any value other than OK.
    """
    value = (status or "OK").strip().upper()
    if value == "OK":
        return
    if value == "OVERFLOW":
        raise ArchiveError(
            f"{what} at {url} stopped at its row limit after {rows} rows (QUERY_STATUS OVERFLOW): "
            "the answer is incomplete and was not kept; search a smaller radius, or cover the "
            "field with several smaller cones"
        )
    raise ArchiveError(
        f"{what} at {url} answered with QUERY_STATUS {value} after {rows} rows: the answer is "
        "not a complete result and was not kept; try again later"
    )


def read_votable_answer(path: str | os.PathLike) -> tuple[Table, str | None]:
    """Read a TAP service's VOTable answer and its ``QUERY_STATUS``.

    Parameters
    ----------
    path : path-like
        The answer as the service sent it (gzip-compressed or not).

    Returns
    -------
    table : astropy.table.Table
        The first table of the answer.
    status : str or None
        The last QUERY_STATUS INFO of the results resource, of its first table, or of the
        document (the order of DALI 1.1, sect. 4.4.1); None when there is none.

    Raises
    ------
    ValueError, xml.parsers.expat.ExpatError
        The file is not a (complete) VOTable.
    """
    import warnings

    from astropy.io.votable import parse

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unit and spec chatter of the service's VOTable
        votable = parse(os.fspath(path))
    resource = next(
        (r for r in votable.resources if (r.type or "").lower() == "results"),
        votable.resources[0] if votable.resources else None,
    )
    places = []
    if resource is not None:
        places.append(resource.infos)
        if resource.tables:
            places.append(resource.tables[0].infos)
    places.append(votable.infos)
    status = None
    for infos in places:
        found = [i.value for i in infos if (i.name or "").lower() == "query_status"]
        if found:
            status = found[-1]  # a status written after the rows is the one that counts
            break
    return votable.get_first_table().to_table(), status
