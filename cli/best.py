"""``xrbid best``: the best observation (smallest usable 2σ radius) of every source."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import XrbidCommand, check_outputs, emit_written
from ._options import (
    FILE,
    headers_option,
    json_option,
    output_option,
    overwrite_option,
    table_argument,
)


@click.command("best", cls=XrbidCommand)
@table_argument()
@output_option("Output table, one row per source (.ecsv .csv .frame .fits .vot .parquet).")
@click.option(
    "--regions-2sigma",
    "reg2",
    type=FILE,
    help="Also write a DS9 region file of the 2-sigma circles, labelled with the source ID.",
)
@click.option(
    "--regions-1sigma",
    "reg1",
    type=FILE,
    help="Also write a DS9 region file of the 1-sigma circles.",
)
@headers_option
@overwrite_option
@json_option
def best(
    table_path: Path,
    output: Path,
    reg2: Path | None,
    reg1: Path | None,
    headers: str,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Keep the best observation of every source.

    Among a source's rows: valid counts and theta first, then counts > 0, then the smallest
    2-sigma radius (pu_2sigma); the first row in table order on ties. The table needs the
    radii (run `xrbid pu` first).

    \b
    Example (M101: 3492 rows -> 555 sources, with the 1/2-sigma region files):
      xrbid best m101_pu.ecsv -o m101_best.ecsv \\
          --regions-2sigma m101_best_2sig.reg --regions-1sigma m101_best_1sig.reg
    """
    import pandas as pd

    from xrbid.regions import write_regions
    from xrbid.selection import best_observations
    from xrbid.tables import check_table_output, read_table, write_table

    check_table_output(output, overwrite)
    check_outputs(overwrite, reg2, reg1)
    required = ["source_id", "counts", "theta", "pu_2sigma"]
    if reg1 is not None:
        required.append("pu_1sigma")
    df = read_table(
        table_path,
        required=required,
        what="the best observation (run `xrbid pu` first for pu_2sigma)",
    )
    out = best_observations(df)
    # Region files first: a failure there leaves no table behind either.
    written = []
    if reg2 is not None:
        write_regions(
            out,
            reg2,
            radius_column="pu_2sigma",
            unit="arcsec",
            label_column="source_id",
            overwrite=overwrite,
        )
        written.append(str(reg2))
    if reg1 is not None:
        write_regions(out, reg1, radius_column="pu_1sigma", unit="arcsec", overwrite=overwrite)
        written.append(str(reg1))
    write_table(out, output, overwrite=overwrite, headers=headers)

    radius = pd.to_numeric(out["pu_2sigma"], errors="coerce")
    has_radius = int(radius.notna().sum())
    median = float(radius.median()) if has_radius else None
    data = {
        "rows": len(df),
        "sources": len(out),
        "regions": written,
        "median_pu_2sigma": median,
        "sources_without_radius": len(out) - has_radius,
    }
    radius_text = (
        f"median 2-sigma radius {median:.3f} arcsec" if median is not None else "no 2-sigma radius"
    )
    text = f"{len(df)} rows -> best observation of {len(out)} sources ({radius_text})"
    emit_written(table_path, text, output, data, as_json, also=written)
