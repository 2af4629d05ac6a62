"""Reference catalogues from the archives: the Chandra Source Catalog (TAP) and Gaia.

Both queries keep the archive's answer in an on-disk cache (one ECSV file per query, named by a
hash of the service address and the query text) and honour an offline mode, in which only the
cache is used and a query it cannot answer fails with a message that says so.

Settings
--------
``XRBID_CACHE_DIR``
    Folder of the cache (default ``~/.cache/xrbid``, or ``$XDG_CACHE_HOME/xrbid``).
``XRBID_OFFLINE``
    ``1`` (or ``true``/``yes``) to never contact an archive.
``XRBID_CSC_TAP_URL``, ``XRBID_GAIA_TAP_URL``
    Other service addresses (a mirror, or a local server replaying recorded answers).
``XRBID_ARCHIVE_TIMEOUT``
    Seconds to wait for an answer (default 120).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from astropy.table import Table

from ._io import atomic_output
from .errors import ArchiveError, InputError

__all__ = [
    "CSC_RELEASES",
    "GAIA_RELEASES",
    "cache_dir",
    "csc_adql",
    "gaia_adql",
    "is_offline",
    "propagate_gaia",
    "query_csc",
    "query_gaia",
]

#: CSC release -> (TAP service address, schema holding its tables)
CSC_RELEASES: dict[str, tuple[str, str]] = {
    "2.1": ("https://cda.cfa.harvard.edu/csc21tap", "csc21"),
    "2.0": ("https://cda.cfa.harvard.edu/csc2tap", "csc2"),
}

#: Gaia release -> gaia_source table of the ESA Gaia archive
GAIA_RELEASES: dict[str, str] = {
    "DR3": "gaiadr3.gaia_source",
    "EDR3": "gaiaedr3.gaia_source",
    "DR2": "gaiadr2.gaia_source",
}

GAIA_TAP_URL = "https://gea.esac.esa.int/"
# Row cap written into the Gaia query (without one, astroquery's synchronous queries stop at 2000).
GAIA_MAX_ROWS = 100_000
DEFAULT_TIMEOUT = 120.0

# Columns asked of the CSC. Master level: one row per source. Observation level: one row per
# detection (source x observation), with the off-axis angle and counts of that detection, which
# the positional-uncertainty radii need.
_CSC_MASTER_COLUMNS = [
    "m.name",
    "m.ra",
    "m.dec",
    "m.err_ellipse_r0",
    "m.err_ellipse_r1",
    "m.err_ellipse_ang",
    "m.significance",
    "m.likelihood_class",
    "m.flux_aper_b",
]
_CSC_OBSERVATION_COLUMNS = [
    "m.name",
    "m.ra",
    "m.dec",
    "m.err_ellipse_r0",
    "m.err_ellipse_r1",
    "m.err_ellipse_ang",
    "m.significance",
    "m.likelihood_class",
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

_GAIA_COLUMNS = [
    "source_id",
    "ra",
    "dec",
    "ra_error",
    "dec_error",
    "ref_epoch",
    "parallax",
    "parallax_error",
    "pmra",
    "pmra_error",
    "pmdec",
    "pmdec_error",
    "ruwe",
    "phot_g_mean_mag",
    "phot_bp_mean_mag",
    "phot_rp_mean_mag",
]


# --------------------------------------------------------------------------- settings


def cache_dir(path: str | os.PathLike | None = None) -> Path:
    """The folder of the query cache.

    Parameters
    ----------
    path : path-like, optional
        Explicit folder; otherwise ``$XRBID_CACHE_DIR``, otherwise ``$XDG_CACHE_HOME/xrbid``
        (``~/.cache/xrbid``).

    Returns
    -------
    pathlib.Path
        The folder (not created here).
    """
    if path is not None:
        return Path(path)
    if os.environ.get("XRBID_CACHE_DIR"):
        return Path(os.environ["XRBID_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "xrbid"


def is_offline(offline: bool | None = None) -> bool:
    """Whether archives may not be contacted: ``offline`` if given, else ``$XRBID_OFFLINE``."""
    if offline is not None:
        return bool(offline)
    return os.environ.get("XRBID_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


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


# --------------------------------------------------------------------------- cache


def _cache_key(service: str, query: str, fmt: str) -> str:
    payload = json.dumps({"service": service, "query": query, "format": fmt}, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def _cached_answer(
    service: str,
    query: str,
    fmt: str,
    fetch: Any,
    *,
    cache: str | os.PathLike | bool | None,
    offline: bool | None,
    what: str,
) -> Table:
    """Return the archive's answer to ``query`` from the cache, or ``fetch()`` it and keep it.

    ``cache=False`` turns the cache off (always ask the archive).
    """
    use_cache = cache is not False
    path = None
    if use_cache:
        folder = cache_dir(None if cache is True else cache)
        path = folder / f"{_cache_key(service, query, fmt)}.ecsv"
        if path.exists():
            return Table.read(path, format="ascii.ecsv")
    if is_offline(offline):
        where = f" in {path.parent}" if path is not None else ""
        raise ArchiveError(
            f"offline mode: no cached {what} answer for this query{where}; run it once with "
            "network access (unset XRBID_OFFLINE), or point XRBID_CACHE_DIR at a cache that has it"
        )
    table = fetch()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path, overwrite=True) as tmp:
            _plain_meta(table).write(tmp, format="ascii.ecsv", overwrite=True)
    return table


def _plain_meta(table: Table) -> Table:
    """A copy whose metadata ECSV can write (archive readers leave non-YAML objects there)."""
    out = table.copy(copy_data=False)
    out.meta = {}
    for col in out.itercols():
        col.meta = {}
    return out


# --------------------------------------------------------------------------- CSC


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
        return result.to_table()
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
                f"the CSC TAP service at {url} sent an answer that is not a VOTable: {_first(exc)}"
            ) from exc
        raise ArchiveError(
            _transport_message("the CSC TAP service", url, cause or exc, timeout)
        ) from exc
    except requests.RequestException as exc:
        raise ArchiveError(_transport_message("the CSC TAP service", url, exc, timeout)) from exc


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
    center : SkyCoord or (float, float)
        Cone centre; a pair is (ra, dec) in degrees.
    radius : Quantity or float
        Cone radius; a number is in arcsec.
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
    radius_arcsec = _radius_arcsec(radius)
    query = csc_adql(ra, dec, radius_arcsec, release=release, level=level)
    service = url or os.environ.get("XRBID_CSC_TAP_URL") or CSC_RELEASES[release][0]
    wait = _timeout(timeout)
    table = _cached_answer(
        service,
        query,
        "votable",
        lambda: _run_tap(service, query, wait),
        cache=cache,
        offline=offline,
        what="CSC",
    )
    return _csc_frame(table)


def _csc_frame(table: Table) -> pd.DataFrame:
    """The CSC TAP answer as a canonical-schema DataFrame."""
    from .tables import normalize_columns

    df = _to_pandas(table)
    return normalize_columns(df)


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


# --------------------------------------------------------------------------- Gaia


def gaia_adql(
    ra: float,
    dec: float,
    radius_arcsec: float,
    *,
    release: str = "DR3",
    max_rows: int = GAIA_MAX_ROWS,
) -> str:
    """The ADQL of a Gaia cone search (positions, proper motions, photometry).

    Examples
    --------
    >>> print(gaia_adql(280.0, -60.0, 72.0))  # doctest: +ELLIPSIS
    SELECT TOP 100000 source_id, ra, dec, ... FROM gaiadr3.gaia_source WHERE 1 = CONTAINS(...
    """
    if release not in GAIA_RELEASES:
        raise InputError(
            f"unknown Gaia release {release!r}; choose one of {', '.join(GAIA_RELEASES)}"
        )
    columns = ", ".join(_GAIA_COLUMNS)
    return (
        f"SELECT TOP {int(max_rows)} {columns} FROM {GAIA_RELEASES[release]} WHERE 1 = CONTAINS("
        f"POINT('ICRS', ra, dec), CIRCLE('ICRS', {ra:.8f}, {dec:.8f}, "
        f"{radius_arcsec / 3600.0:.8f})) ORDER BY source_id"
    )


@contextlib.contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    # astroquery's TAP client opens http.client connections without a timeout, which then use
    # the process-wide default; set it for the duration of the query only.
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(old)


def _run_gaia(url: str, query: str, fmt: str, timeout: float) -> Table:
    """Run ``query`` on the Gaia archive at ``url`` through astroquery; return the table."""
    import requests

    # astroquery's TAP+ client, the one astroquery.gaia.GaiaClass is built on; importing
    # astroquery.gaia itself would contact the archive at import time (its module-level
    # client fetches the archive's status messages).
    from astroquery.utils.tap.core import TapPlus

    try:
        with _socket_timeout(timeout), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tap = TapPlus(url=url, server_context="tap-server", tap_context="tap", verbose=False)
            job = tap.launch_job(query, output_format=fmt)
            return job.get_results()
    except TimeoutError as exc:
        raise ArchiveError(_transport_message("the Gaia archive", url, exc, timeout)) from exc
    except requests.HTTPError as exc:
        raise ArchiveError(f"the Gaia archive at {url} rejected the query: {_first(exc)}") from exc
    except (ConnectionError, OSError) as exc:
        raise ArchiveError(_transport_message("the Gaia archive", url, exc, timeout)) from exc
    except ValueError as exc:  # unreadable body (not the format asked for)
        raise ArchiveError(
            f"the Gaia archive at {url} sent an answer that cannot be read as {fmt}: {_first(exc)}"
        ) from exc


def query_gaia(
    center: Any,
    radius: Any,
    *,
    release: str = "DR3",
    epoch: Any = None,
    cache: str | os.PathLike | bool | None = None,
    offline: bool | None = None,
    url: str | None = None,
    output_format: str = "votable",
    timeout: float | None = None,
) -> pd.DataFrame:
    """Cone search of Gaia through astroquery, with positions moved to ``epoch``.

    Parameters
    ----------
    center : SkyCoord or (float, float)
        Cone centre; a pair is (ra, dec) in degrees.
    radius : Quantity or float
        Cone radius; a number is in arcsec.
    release : {"DR3", "EDR3", "DR2"}
        Gaia release.
    epoch : astropy.time.Time, str or float, optional
        Epoch of the observation the catalogue is compared with (a Julian year such as
        ``2005.18``, an ISO date such as ``"2005-03-07"``, or a `~astropy.time.Time`).
        None keeps the catalogue epoch (J2016.0 for DR3).
    cache, offline, url, timeout
        As for `query_csc` (``url`` defaults to the ESA archive or ``$XRBID_GAIA_TAP_URL``).
    output_format : {"votable", "ecsv", "csv", "json"}
        The format asked of the archive.

    Returns
    -------
    pandas.DataFrame
        ``source_id`` (str), ``ra``, ``dec`` (deg, at ``epoch``), ``ra_catalog``,
        ``dec_catalog`` (deg, at ``ref_epoch``), ``ref_epoch``, ``epoch`` (Julian years),
        ``pmra``, ``pmdec`` (mas/yr), ``pm_missing`` (True where the catalogue has no proper
        motion: those stars are kept, propagated with zero motion), and the other columns
        asked for (errors, parallax, ``ruwe``, G/BP/RP magnitudes).

    Raises
    ------
    ArchiveError
        The archive failed, timed out, rejected the query, or (offline) the cache lacks it.

    Examples
    --------
    >>> from astropy import units as u
    >>> stars = query_gaia((5.63057, -72.05457), 2 * u.arcmin, epoch="2005-03-07")
    ... # doctest: +SKIP
    """
    ra, dec = _center(center)
    radius_arcsec = _radius_arcsec(radius)
    query = gaia_adql(ra, dec, radius_arcsec, release=release)
    service = url or os.environ.get("XRBID_GAIA_TAP_URL") or GAIA_TAP_URL
    wait = _timeout(timeout)
    table = _cached_answer(
        service,
        query,
        output_format,
        lambda: _run_gaia(service, query, output_format, wait),
        cache=cache,
        offline=offline,
        what="Gaia",
    )
    if len(table) >= GAIA_MAX_ROWS:
        raise ArchiveError(
            f"the Gaia answer reached the {GAIA_MAX_ROWS}-row cap of one query, so it is cut "
            "short; use a smaller radius"
        )
    return propagate_gaia(_gaia_frame(table), epoch)


def _gaia_frame(table: Table) -> pd.DataFrame:
    """The Gaia answer as a DataFrame with the columns the calibration uses."""
    names = {n.lower(): n for n in table.colnames}
    missing = [c for c in ("source_id", "ra", "dec") if c not in names]
    if missing:
        raise ArchiveError(
            f"the Gaia answer lacks column(s) {', '.join(missing)}; it is not a gaia_source "
            "cone search result"
        )
    keep = [names[c] for c in _GAIA_COLUMNS if c in names]
    df = _to_pandas(table[keep])
    df.columns = [c.lower() for c in df.columns]
    df["source_id"] = [str(int(v)) if pd.notna(v) else "" for v in df["source_id"]]
    df["source_id"] = df["source_id"].astype(object)
    for col in df.columns.drop("source_id"):
        # JSON answers leave columns with nulls as Python objects
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    for col in ("pmra", "pmdec", "ref_epoch", "parallax"):
        if col not in df:
            df[col] = np.nan
    return df


def propagate_gaia(df: pd.DataFrame, epoch: Any = None) -> pd.DataFrame:
    """Move catalogue positions from ``ref_epoch`` to ``epoch`` with their proper motions.

    Uses `astropy.coordinates.SkyCoord.apply_space_motion` (rigorous space motion; parallax
    and radial velocity are not used, which changes positions by far less than a
    microarcsecond over decades). Stars without proper motion keep their position and get
    ``pm_missing = True``.

    Parameters
    ----------
    df : pandas.DataFrame
        ``ra``, ``dec`` (deg), ``pmra``, ``pmdec`` (mas/yr), ``ref_epoch`` (Julian year).
    epoch : Time, str or float, optional
        Target epoch; None leaves positions at ``ref_epoch``.

    Returns
    -------
    pandas.DataFrame
        A copy with ``ra``/``dec`` at ``epoch``, ``ra_catalog``/``dec_catalog``, ``epoch`` and
        ``pm_missing``.
    """
    from astropy import units as u
    from astropy.coordinates import SkyCoord
    from astropy.time import Time

    out = df.copy()
    out["ra_catalog"] = out["ra"].astype(float)
    out["dec_catalog"] = out["dec"].astype(float)
    pmra = out["pmra"].astype(float).to_numpy()
    pmdec = out["pmdec"].astype(float).to_numpy()
    missing = ~(np.isfinite(pmra) & np.isfinite(pmdec))
    out["pm_missing"] = missing
    ref = out["ref_epoch"].astype(float).to_numpy() if "ref_epoch" in out else None
    if ref is None or not np.isfinite(ref).any():
        ref = np.full(len(out), 2016.0)
    ref = np.where(np.isfinite(ref), ref, np.nanmedian(ref))
    if epoch is None or len(out) == 0:
        out["epoch"] = ref
        return out
    target = _as_time(epoch)
    coords = SkyCoord(
        ra=out["ra_catalog"].to_numpy() * u.deg,
        dec=out["dec_catalog"].to_numpy() * u.deg,
        pm_ra_cosdec=np.where(missing, 0.0, pmra) * u.mas / u.yr,
        pm_dec=np.where(missing, 0.0, pmdec) * u.mas / u.yr,
        obstime=Time(ref, format="jyear", scale="tcb"),
        frame="icrs",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ERFA's note that no distance was given
        moved = coords.apply_space_motion(new_obstime=target)
    out["ra"] = moved.ra.deg
    out["dec"] = moved.dec.deg
    out["epoch"] = float(target.jyear)
    return out


def _as_time(epoch: Any) -> Any:
    from astropy.time import Time

    if isinstance(epoch, Time):
        return epoch
    try:
        if isinstance(epoch, (int, float, np.floating, np.integer)):
            return Time(float(epoch), format="jyear", scale="tcb")
        text = str(epoch).strip()
        if text[:1] in "JjBb" and text[1:2].isdigit():
            return Time(text, scale="tcb")
        return Time(text, scale="utc")
    except ValueError:
        raise InputError(
            f"epoch {epoch!r} is not a date; write it like 2005-03-07 or 2005.18"
        ) from None
