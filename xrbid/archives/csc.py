"""The Chandra Source Catalog over its TAP service (pyvo)."""

from __future__ import annotations

import os
import warnings
from typing import Any

import pandas as pd
from astropy.table import Table

from .._docs import insert_doc
from ..errors import ArchiveError, InputError
from ._common import (
    CONE_PARAMETERS,
    _center,
    _first,
    _radius_arcsec,
    _to_pandas,
    _transport_message,
    ask_archive,
    check_query_status,
)

__all__ = ["CSC_RELEASES", "csc_adql", "query_csc"]

#: CSC release -> (TAP service address, schema holding its tables)
CSC_RELEASES: dict[str, tuple[str, str]] = {
    "2.1": ("https://cda.cfa.harvard.edu/csc21tap", "csc21"),
    "2.0": ("https://cda.cfa.harvard.edu/csc2tap", "csc2"),
}

# Columns asked of the CSC. Master level: one row per source. Observation level: one row per
# detection (source x observation), with the off-axis angle and counts of that detection, which
# the positional-uncertainty radii need.
_CSC_SOURCE_COLUMNS = [
    "m.name",
    "m.ra",
    "m.dec",
    "m.err_ellipse_r0",
    "m.err_ellipse_r1",
    "m.err_ellipse_ang",
    "m.significance",
    "m.likelihood_class",
]
_CSC_MASTER_COLUMNS = [*_CSC_SOURCE_COLUMNS, "m.flux_aper_b"]
_CSC_OBSERVATION_COLUMNS = [
    *_CSC_SOURCE_COLUMNS,
    "o.obsid",
    "o.obi",
    "o.region_id",
    "o.livetime",
    "o.theta",
    "o.gti_mjd_obs",
    "o.flux_aper_b",
    "o.flux_aper_lolim_b",
    "o.flux_aper_hilim_b",
    "o.hard_hs",
    "o.hard_hm",
    "o.hard_ms",
    "o.src_cnts_aper_b",
    "o.src_cnts_aper_lolim_b",
    "o.src_cnts_aper_hilim_b",
]
# The joins that tie a master source to its per-observation detections (CSC 2.x schema).
_CSC_OBSERVATION_JOIN = (
    "(m.name = a.name)"
    " AND (s.detect_stack_id = a.detect_stack_id AND s.region_id = a.region_id)"
    " AND (s.detect_stack_id = b.detect_stack_id AND s.region_id = b.region_id)"
    " AND (o.obsid = b.obsid AND o.obi = b.obi AND o.region_id = b.region_id)"
)


def csc_adql(
    ra: float, dec: float, radius_arcsec: float, *, release: str = "2.1", level: str = "observation"
) -> str:
    """The ADQL of a cone search of the CSC.

    Parameters
    ----------
    ra, dec : float
        Cone centre, degrees (ICRS).
    radius_arcsec : float
        Cone radius, arcsec.
    release : {"2.1", "2.0"}
        CSC release (selects the TAP schema).
    level : {"observation", "master"}
        ``"observation"``: one row per detection in each observation, with that detection's
        off-axis angle ``theta`` (arcmin) and counts; ``"master"``: one row per source.

    Returns
    -------
    str
        The query text. Distances use the CSC's own ``dbo.cone_distance`` (arcmin) and
        ``dbo.separation`` (arcsec) functions, as the CSC's own tools do.

    Examples
    --------
    >>> print(csc_adql(210.80225, 54.34894, 60, level="master"))  # doctest: +ELLIPSIS
    SELECT m.name, m.ra, m.dec, ...
    """
    if release not in CSC_RELEASES:
        raise InputError(
            f"unknown CSC release {release!r}; choose one of {', '.join(CSC_RELEASES)}"
        )
    if level not in ("observation", "master"):
        raise InputError(f"unknown CSC level {level!r}; choose 'observation' or 'master'")
    schema = CSC_RELEASES[release][1]
    radius_arcmin = radius_arcsec / 60.0
    # A Dec band first lets the database use its index before the exact distance test.
    ddec = radius_arcsec / 3600.0
    cone = (
        f"(m.dec BETWEEN {dec - ddec:.8f} AND {dec + ddec:.8f})"
        f" AND dbo.cone_distance(m.ra, m.dec, {ra:.8f}, {dec:.8f}) <= {radius_arcmin:.8f}"
    )
    separation = f"dbo.separation(m.ra, m.dec, {ra:.8f}, {dec:.8f}) AS separation"
    if level == "master":
        columns = ", ".join([*_CSC_MASTER_COLUMNS, separation])
        return (
            f"SELECT {columns} FROM {schema}.master_source m WHERE {cone} "
            "ORDER BY separation ASC, m.name ASC"
        )
    columns = ", ".join([*_CSC_OBSERVATION_COLUMNS, separation])
    tables = (
        f"{schema}.master_source m, {schema}.master_stack_assoc a, "
        f"{schema}.observation_source o, {schema}.stack_observation_assoc b, "
        f"{schema}.stack_source s"
    )
    return (
        f"SELECT DISTINCT {columns} FROM {tables} WHERE ({cone}) AND {_CSC_OBSERVATION_JOIN} "
        "ORDER BY separation ASC, m.name ASC, o.obsid ASC"
    )


def _timeout_session(timeout: float) -> Any:
    """A requests session whose every request carries ``timeout`` (pyvo sets none itself)."""
    import requests

    class _Session(requests.Session):
        def request(self, *args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("timeout", timeout)
            return super().request(*args, **kwargs)

    return _Session()


def _run_tap(url: str, query: str, timeout: float) -> Table:
    """Run ``query`` on the TAP service at ``url`` (synchronously) and return the table."""
    import pyvo
    import requests

    try:
        service = pyvo.dal.TAPService(url, session=_timeout_session(timeout))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # VOTable parser chatter about the service's units
            result = service.run_sync(query)
        table = result.to_table()
    except pyvo.dal.DALAccessError as exc:  # base of the query, format and service errors
        cause = getattr(exc, "cause", None)
        if isinstance(cause, requests.RequestException):
            raise ArchiveError(
                _transport_message("the CSC TAP service", url, cause, timeout)
            ) from exc
        if isinstance(exc, pyvo.dal.DALQueryError):
            raise ArchiveError(
                f"the CSC TAP service at {url} rejected the query: {_first(exc)}"
            ) from exc
        if isinstance(exc, pyvo.dal.DALFormatError):
            raise ArchiveError(
                f"the CSC TAP service at {url} sent an answer that cannot be read as a VOTable "
                f"(not one, or cut short): {_first(exc)}"
            ) from exc
        raise ArchiveError(
            _transport_message("the CSC TAP service", url, cause or exc, timeout)
        ) from exc
    except requests.RequestException as exc:
        raise ArchiveError(_transport_message("the CSC TAP service", url, exc, timeout)) from exc
    check_query_status(result.query_status, len(table), "the CSC TAP service", url)
    return table


@insert_doc(cone_parameters=CONE_PARAMETERS)
def query_csc(
    center: Any,
    radius: Any,
    *,
    release: str = "2.1",
    level: str = "observation",
    cache: str | os.PathLike | bool | None = None,
    offline: bool | None = None,
    url: str | None = None,
    timeout: float | None = None,
) -> pd.DataFrame:
    """Cone search of the Chandra Source Catalog over its TAP service.

    Parameters
    ----------
    {cone_parameters}
    release : {"2.1", "2.0"}
        CSC release.
    level : {"observation", "master"}
        One row per detection (with per-detection ``theta`` and ``counts``), or per source.
    cache : path-like, True, False or None
        Cache folder (None/True: the default folder, see `cache_dir`; False: no cache).
    offline : bool, optional
        Use only the cache (default: ``$XRBID_OFFLINE``).
    url : str, optional
        TAP service address (default: the release's, or ``$XRBID_CSC_TAP_URL``).
    timeout : float, optional
        Seconds to wait for the service (default 120, or ``$XRBID_ARCHIVE_TIMEOUT``).

    Returns
    -------
    pandas.DataFrame
        The rows in the canonical schema (``source_id, ra, dec, theta, counts, err_r0, ...``;
        `xrbid.tables.normalize_columns`), nearest first; ``separation`` in arcsec from the
        centre. An empty cone gives an empty table with those columns.

    Raises
    ------
    ArchiveError
        The service failed, timed out, rejected the query, or (offline) the cache lacks it.

    Examples
    --------
    >>> from astropy import units as u
    >>> m101 = query_csc((210.80225, 54.34894), 15 * u.arcmin)  # doctest: +SKIP
    """
    ra, dec = _center(center)
    query = csc_adql(ra, dec, _radius_arcsec(radius), release=release, level=level)
    table = ask_archive(
        query,
        _run_tap,
        url=url,
        env="XRBID_CSC_TAP_URL",
        default_url=CSC_RELEASES[release][0],
        fmt="votable",
        timeout=timeout,
        cache=cache,
        offline=offline,
        what="CSC",
    )
    return _csc_frame(table)


def _csc_frame(table: Table) -> pd.DataFrame:
    """The CSC TAP answer as a canonical-schema DataFrame."""
    from ..tables import normalize_columns

    df = _to_pandas(table)
    return normalize_columns(df)
