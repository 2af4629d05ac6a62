"""``xrbid pu``: 1σ/2σ positional uncertainty radii (Kim et al. 2007 + alignment scatter)."""

from __future__ import annotations

import math
from pathlib import Path

import click

from ._common import XrbidCommand, emit_written
from ._options import (
    FILE,
    headers_option,
    json_option,
    output_option,
    overwrite_option,
    table_argument,
)


def _parse_std(value: str | None) -> tuple[float, float] | None:
    if value is None:
        return None
    parts = [p for p in value.replace(" ", ",").split(",") if p]
    if len(parts) != 2:
        raise click.BadParameter(
            f"{value!r} has {len(parts)} value(s); give two, std_x,std_y in arcsec "
            "(e.g. --std 0.2223,0.3037)",
            param_hint="--std",
        )
    try:
        return float(parts[0]), float(parts[1])
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not two numbers; give std_x,std_y in arcsec (e.g. 0.2223,0.3037)",
            param_hint="--std",
        ) from None


@click.command("pu", cls=XrbidCommand)
@table_argument()
@click.option(
    "--std",
    "std",
    metavar="SX,SY",
    help="Alignment scatter sigma_astro along x and y in arcsec, e.g. 0.2223,0.3037.",
)
@click.option(
    "--solution",
    type=FILE,
    help="Alignment solution JSON written by `xrbid align` (its std_x, std_y are used).",
)
@click.option(
    "--fallback",
    type=click.Choice(["ellipse", "zero", "none"]),
    default="ellipse",
    show_default=True,
    help="Rows without usable theta/counts: CSC 95% error ellipse (err_r0) as the 2-sigma "
    "X-ray term; zero X-ray term (the XRBID guide's radii); or NaN.",
)
@click.option(
    "--no-clamp",
    "no_clamp",
    is_flag=True,
    help="Treat counts above 10^3.3 like unusable rows instead of evaluating them at C = 3.3.",
)
@output_option(
    "Output table (.ecsv .csv .frame .fits .vot .parquet) with pu_1sigma, pu_2sigma "
    "(arcsec) and pu_method."
)
@headers_option
@overwrite_option
@json_option
def pu(
    table_path: Path,
    std: str | None,
    solution: Path | None,
    fallback: str,
    no_clamp: bool,
    output: Path,
    headers: str,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Add 1-sigma and 2-sigma positional uncertainty radii to every row of a CSC table.

    The X-ray term is Kim et al. 2007 (ApJS 169, 401) eqs. 14 and 12 from theta (arcmin) and
    counts; the alignment scatter s = sqrt(sx^2 + sy^2) is added in quadrature (2s for
    2-sigma). The pu_method column says which rule each row used.

    \b
    Examples (M101: from the alignment solution; the XRBID guide's scatter on the sky;
    the guide's published radii exactly):
      xrbid pu m101.ecsv --solution m101_align.json -o m101_pu.ecsv
      xrbid pu m101.ecsv --std 0.2223,0.3037 -o m101_pu.ecsv
      xrbid pu m101.ecsv --std 0.3813,0.3037 --fallback zero --no-clamp -o m101_guide.frame
    """
    from xrbid.errors import InputError
    from xrbid.tables import check_table_output, read_table, write_table
    from xrbid.uncertainty import method_counts, positional_uncertainty, sigma_astro_of

    pair = _parse_std(std)
    if (pair is None) == (solution is None):
        raise InputError(
            "give the alignment scatter with --std SX,SY (arcsec) or --solution SOLUTION.json "
            "(one of them)"
        )
    sigma_astro = sigma_astro_of(pair if pair is not None else solution)
    check_table_output(output, overwrite)
    df = read_table(
        table_path,
        required=["source_id", "theta", "counts"],
        what="positional uncertainties",
    )
    source = solution if solution is not None else sigma_astro  # a solution knows its field
    out = positional_uncertainty(df, source, fallback=fallback, clamp=not no_clamp)
    write_table(out, output, overwrite=overwrite, headers=headers)

    methods = method_counts(out)
    s = math.hypot(*sigma_astro)
    data = {
        "rows": len(out),
        "std_x": sigma_astro[0],
        "std_y": sigma_astro[1],
        "sigma_astro": s,
        "fallback": fallback,
        "methods": methods,
    }
    listed = ", ".join(f"{k} {v}" for k, v in methods.items())
    text = f"{len(out)} rows, alignment scatter {s:.4f} arcsec; pu_method: {listed}"
    emit_written(table_path, text, output, data, as_json)
