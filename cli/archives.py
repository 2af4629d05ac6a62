"""``xrbid csc query``: cone search of the Chandra Source Catalog over its TAP service."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import emit
from ._options import (
    ANGLE,
    cache_options,
    headers_option,
    json_option,
    output_option,
    overwrite_option,
)


def resolve_galaxy(name: str, *, offline: bool | None) -> tuple[float, float]:
    """(ra, dec) of ``name`` from the CDS name resolver (needs network)."""
    from xrbid.archives import is_offline
    from xrbid.errors import InputError

    hint = "give the centre instead: --center RA DEC (degrees), e.g. --center 210.80243 54.34875"
    if is_offline(offline):
        raise InputError(f"cannot resolve the name {name!r} offline; {hint}")
    from astropy.coordinates import SkyCoord
    from astropy.coordinates.name_resolve import NameResolveError

    try:
        c = SkyCoord.from_name(name).icrs
    except NameResolveError as exc:
        reason = " ".join(str(exc).split())[:200]
        raise InputError(f"cannot resolve the name {name!r} ({reason}); {hint}") from exc
    return float(c.ra.deg), float(c.dec.deg)


@click.command("query")
@click.option("--galaxy", metavar="NAME", help="Object name to resolve (needs network), e.g. M101.")
@click.option(
    "--center",
    nargs=2,
    type=float,
    metavar="RA DEC",
    help="Cone centre in degrees (ICRS).",
)
@click.option(
    "--radius",
    type=ANGLE,
    required=True,
    help="Cone radius with a unit: 15arcmin, 0.25deg, 90arcsec.",
)
@click.option(
    "--level",
    type=click.Choice(["observation", "master"]),
    default="observation",
    show_default=True,
    help="One row per detection (theta and counts per observation) or per source.",
)
@click.option("--release", default="2.1", show_default=True, help="CSC release (2.1 or 2.0).")
@output_option("Output table; the format follows the extension (.vot .ecsv .csv .fits .parquet).")
@headers_option
@cache_options(
    "Cache folder (default $XRBID_CACHE_DIR or ~/.cache/xrbid).",
    "Answer from the cache only ($XRBID_OFFLINE=1).",
)
@click.option("--url", help="Another TAP service address (a mirror); default: the release's.")
@click.option("--timeout", type=float, help="Seconds to wait for the service (default 120).")
@overwrite_option
@json_option
def query(
    galaxy: str | None,
    center: tuple[float, float] | None,
    radius: float,
    level: str,
    release: str,
    output: Path,
    headers: str,
    cache_dir: Path | None,
    offline: bool,
    url: str | None,
    timeout: float | None,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Query the CSC around a galaxy and write the detections in the canonical schema.

    \b
    Example (M101, the walkthrough galaxy):
      xrbid csc query --galaxy M101 --radius 15arcmin -o M101.vot
      xrbid csc query --center 210.80243 54.34875 --radius 15arcmin -o M101.vot
    Answers are cached on disk; with --offline (or XRBID_OFFLINE=1) only the cache is used.
    """
    from xrbid.archives import query_csc
    from xrbid.errors import InputError
    from xrbid.tables import check_table_output, write_table

    if (galaxy is None) == (center is None):
        raise InputError("give the cone centre with --galaxy NAME or with --center RA DEC (one)")
    check_table_output(output, overwrite)  # extension and existence, before any query
    ra, dec = center if center is not None else resolve_galaxy(galaxy, offline=offline or None)
    df = query_csc(
        (ra, dec),
        radius,
        release=release,
        level=level,
        cache=cache_dir,
        offline=offline or None,
        url=url,
        timeout=timeout,
    )
    write_table(df, output, overwrite=overwrite, headers=headers)
    sources = int(df["source_id"].nunique()) if "source_id" in df else 0
    data = {
        "output": str(output),
        "rows": len(df),
        "sources": sources,
        "center": [ra, dec],
        "radius_arcsec": radius,
        "level": level,
        "release": release,
    }
    where = galaxy or f"({ra:.5f}, {dec:.5f})"
    emit(
        f"CSC {release} within {radius / 60:g}' of {where}: {len(df)} rows, {sources} sources "
        f"-> {output}",
        data,
        as_json,
    )
