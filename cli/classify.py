"""``xrbid classify``: extinction, chance coincidences, match probabilities, donor masses."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import XrbidCommand, emit
from ._options import (
    ANGLE,
    FILE,
    extinction_options,
    filter_values,
    json_option,
    output_option,
    overwrite_option,
    table_argument,
)


def _distance_pc(value: str) -> float:
    from astropy import units as u

    from xrbid.errors import InputError

    try:
        q = u.Quantity(value)
    except (TypeError, ValueError):
        raise InputError(
            f"cannot read the distance {value!r}; write e.g. 6.4Mpc or 850kpc"
        ) from None
    if q.unit == u.dimensionless_unscaled:
        raise InputError(f"the distance {value!r} has no unit; write e.g. 6.4Mpc")
    try:
        return float(q.to_value(u.pc))
    except u.UnitConversionError:
        raise InputError(f"{value!r} is not a distance; write e.g. 6.4Mpc") from None


def _filter_pair(value: str | None) -> tuple[str, str] | None:
    from xrbid.errors import InputError

    if value is None:
        return None
    blue, sep, red = value.partition("-")
    if not sep or not blue or not red:
        raise InputError(f"--colour must be BLUE-RED (e.g. F555W-F814W), got {value!r}")
    return blue.strip(), red.strip()


def _sources_path(output: Path, sources: Path | None) -> Path:
    if sources is not None:
        return sources
    suffix = "".join(output.suffixes) or ".ecsv"
    stem = output.name[: -len(suffix)] if output.suffixes else output.name
    return output.with_name(f"{stem}_sources{suffix}")


@click.command("classify", cls=XrbidCommand)
@table_argument("cands", "CANDS")
@output_option("Classified candidates (.ecsv .csv .fits .vot .parquet).")
@click.option(
    "--sources",
    "sources_out",
    type=FILE,
    help="Per-source table (default: OUTPUT with _sources before the extension).",
)
@click.option(
    "--models",
    "model_paths",
    multiple=True,
    type=FILE,
    help="Stellar models (MIST .iso.cmd/.eep.cmd, PARSEC); repeat for several files.",
)
@click.option("--distance", help="Distance to the galaxy, e.g. 6.4Mpc (needed with --models).")
@click.option("--distance-modulus", "dist_mod", type=float, help="Instead of --distance (mag).")
@click.option(
    "--ebv",
    type=float,
    default=0.0,
    show_default=True,
    help="Foreground E(B-V), Schlafly & Finkbeiner 2011 scale (IRSA/NED 'S&F').",
)
@extinction_options
@click.option(
    "--pivot",
    "pivot_specs",
    multiple=True,
    help="Pivot wavelength FILTER=ANGSTROM (e.g. the image's PHOTPLAM); repeatable.",
)
@click.option(
    "--optical",
    "optical_path",
    type=FILE,
    help="All optical sources for the local density: a table (ra, dec, magnitudes) or a "
    "fk5 region file, as for xrbid counterparts.",
)
@click.option(
    "--xray",
    "xray_path",
    type=FILE,
    help="X-ray sources, one row each (default: from the candidates).",
)
@click.option(
    "--density", type=float, help="Fixed optical source density (arcsec^-2) instead of --optical."
)
@click.option(
    "--annulus",
    nargs=2,
    type=ANGLE,
    default=("5arcsec", "20arcsec"),
    show_default=True,
    help="Inner and outer radius of the local-density annulus.",
)
@click.option(
    "--completeness",
    type=float,
    default=0.5,
    show_default=True,
    help="Prior: expected fraction of X-ray sources with an optical counterpart.",
)
@click.option("--colour", "colour_spec", help="CMD colour BLUE-RED, e.g. F555W-F814W.")
@click.option("--mag", "mag_filter", help="CMD magnitude filter (default: the blue one).")
@click.option("--log-age", type=float, help="Use the model isochrone nearest this log10(age/yr).")
@click.option(
    "--mass-limits",
    nargs=2,
    type=float,
    default=(3.0, 8.0),
    show_default=True,
    help="Low/intermediate and intermediate/high donor-mass limits (Msun).",
)
@click.option(
    "--max-cmd-distance",
    type=float,
    default=1.0,
    show_default=True,
    help="No mass for candidates further than this (mag) from every model.",
)
@click.option(
    "--flags",
    "flags_path",
    type=FILE,
    help="Table of object_type per candidate (cluster/foreground/background).",
)
@click.option(
    "--shifts",
    type=int,
    default=0,
    show_default=True,
    help="Shifted X-ray catalogues for the field false-match rate (needs --optical).",
)
@click.option(
    "--mag-prior",
    is_flag=True,
    help="Weight p_i by the counterparts' magnitude distribution, estimated from the data "
    "(needs --optical with the CMD magnitude).",
)
@overwrite_option
@json_option
def classify(
    cands: Path,
    output: Path,
    sources_out: Path | None,
    model_paths: tuple[Path, ...],
    distance: str | None,
    dist_mod: float | None,
    ebv: float,
    ebv_scale: str,
    rv: float,
    law: str,
    camera: str,
    pivot_specs: tuple[str, ...],
    optical_path: Path | None,
    xray_path: Path | None,
    density: float | None,
    annulus: tuple[float, float],
    completeness: float,
    colour_spec: str | None,
    mag_filter: str | None,
    log_age: float | None,
    mass_limits: tuple[float, float],
    max_cmd_distance: float,
    flags_path: Path | None,
    shifts: int,
    mag_prior: bool,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Classify counterpart candidates: extinction, chance coincidences, p_i, donor masses.

    CANDS is the candidates table (`xrbid counterparts`, with magnitudes from `xrbid phot
    counterparts`). Writes the candidates with A_lambda, dereddened magnitudes, N_chance,
    P_chance, p_i, mass and mass class, and a per-source table with p_any, the best
    candidate and the XRB class (HMXB / IMXB / LMXB / unclassified).

    \b
    Example (M101):
      xrbid classify m101_cand_phot.ecsv --optical f555w_sources.ecsv \\
          --models MIST_iso_HST_ACSWF.iso.cmd --distance 6.4Mpc --ebv 0.008 -o classified.ecsv
    """
    from xrbid.classify.pipeline import classify_candidates
    from xrbid.tables import check_table_output, read_table, read_table_or_regions, write_table

    sources_path = _sources_path(output, sources_out)
    inputs = [p for p in (cands, optical_path, xray_path, flags_path, *model_paths) if p]
    if any(sources_path.resolve() == Path(p).resolve() for p in inputs):
        from xrbid.errors import InputError

        raise InputError(f"the per-source table {sources_path} is also an input; give --sources")
    check_table_output(output, overwrite)
    check_table_output(sources_path, overwrite)
    table = read_table(
        cands, required=["source_id"], what="classification (run `xrbid counterparts`)"
    )
    optical = (
        read_table_or_regions(optical_path, required=["ra", "dec"], what="an optical catalogue")
        if optical_path
        else None
    )
    xray = (
        read_table(xray_path, required=["source_id", "ra", "dec"], what="the X-ray sources")
        if xray_path
        else None
    )
    flags = read_table(flags_path, what="a flag table") if flags_path else None
    result = classify_candidates(
        table,
        models=(list(model_paths) if len(model_paths) > 1 else model_paths[0])
        if model_paths
        else None,
        distance_pc=_distance_pc(distance) if distance else None,
        dist_mod=dist_mod,
        ebv=ebv,
        rv=rv,
        law=law,
        ebv_scale=ebv_scale,
        camera=camera,
        pivots=filter_values(pivot_specs, "--pivot", "F555W=5360"),
        optical=optical,
        xray=xray,
        density=density,
        annulus=annulus,
        completeness=completeness,
        colour=_filter_pair(colour_spec),
        mag=mag_filter,
        log_age=log_age,
        mass_limits=mass_limits,
        max_cmd_distance=max_cmd_distance,
        flags=flags,
        n_shifts=shifts,
        magnitude_prior=mag_prior,
    )
    write_table(result.candidates, output, overwrite=overwrite)
    write_table(result.sources, sources_path, overwrite=overwrite)
    data = {**result.to_dict(), "output": str(output), "sources_output": str(sources_path)}
    counts = ", ".join(f"{v} {k}" for k, v in data["xrb_classes"].items())
    fm = result.false_match
    extra = (
        f"; false-match rate {fm.rate:.3f} +/- {fm.rate_err:.3f} (expected {fm.expected:.3f})"
        if fm
        else ""
    )
    steps = ", ".join(data["steps"]) or "nothing to do"
    emit(
        f"{len(result.candidates)} candidates of {len(result.sources)} sources ({steps}): "
        f"{counts}{extra} -> {output}, {sources_path}",
        data,
        as_json,
    )
