"""Gaia cone searches through astroquery, with positions moved to the observation epoch."""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
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
    read_votable_answer,
)

__all__ = ["GAIA_RELEASES", "gaia_adql", "propagate_gaia", "query_gaia"]

#: Gaia release -> gaia_source table of the ESA Gaia archive
GAIA_RELEASES: dict[str, str] = {
    "DR3": "gaiadr3.gaia_source",
    "EDR3": "gaiaedr3.gaia_source",
    "DR2": "gaiadr2.gaia_source",
}

GAIA_TAP_URL = "https://gea.esac.esa.int/"
# Row cap written into the Gaia query (without one, astroquery's synchronous queries stop at 2000).
GAIA_MAX_ROWS = 100_000

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
    from xml.parsers.expat import ExpatError

    import requests

    # astroquery's TAP+ client, the one astroquery.gaia.GaiaClass is built on; importing
    # astroquery.gaia itself would contact the archive at import time (its module-level
    # client fetches the archive's status messages).
    from astroquery.utils.tap.core import TapPlus

    with tempfile.TemporaryDirectory(prefix="xrbid-gaia-") as folder:
        try:
            with _socket_timeout(timeout), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tap = TapPlus(
                    url=url, server_context="tap-server", tap_context="tap", verbose=False
                )
                if fmt != "votable":
                    return tap.launch_job(query, output_format=fmt).get_results()
                # The VOTable is kept as sent so that its QUERY_STATUS can be read: astroquery's
                # own reader drops the INFO elements that flag a partial answer.
                try:
                    tap.launch_job(
                        query,
                        output_format=fmt,
                        dump_to_file=True,
                        output_file=str(Path(folder) / "answer.vot"),
                    )
                except AttributeError:
                    # astroquery fails to save an error answer to a file; ask again without
                    # saving so that the service's own error message is raised
                    tap.launch_job(query, output_format=fmt)
                    raise ArchiveError(
                        f"the Gaia archive at {url} answered with an error"
                    ) from None
                (answer,) = Path(folder).iterdir()
                table, status = read_votable_answer(answer)
        except TimeoutError as exc:
            raise ArchiveError(_transport_message("the Gaia archive", url, exc, timeout)) from exc
        except requests.HTTPError as exc:
            raise ArchiveError(
                f"the Gaia archive at {url} rejected the query: {_first(exc)}"
            ) from exc
        except (ValueError, ExpatError, IndexError) as exc:  # unreadable or cut-short body
            raise ArchiveError(
                f"the Gaia archive at {url} sent an answer that cannot be read as {fmt} "
                f"(not one, or cut short): {_first(exc)}"
            ) from exc
        except (ConnectionError, OSError) as exc:
            raise ArchiveError(_transport_message("the Gaia archive", url, exc, timeout)) from exc
    check_query_status(status, len(table), "the Gaia archive", url)
    return table


@insert_doc(cone_parameters=CONE_PARAMETERS)
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
    {cone_parameters}
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
    query = gaia_adql(ra, dec, _radius_arcsec(radius), release=release)
    table = ask_archive(
        query,
        lambda service, q, wait: _run_gaia(service, q, output_format, wait),
        url=url,
        env="XRBID_GAIA_TAP_URL",
        default_url=GAIA_TAP_URL,
        fmt=output_format,
        timeout=timeout,
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
