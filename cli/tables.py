"""``xrbid tables``: tables for papers (AASTeX, LaTeX, machine-readable)."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import XrbidGroup, check_outputs, emit_written
from ._options import json_option, output_option, overwrite_option, table_argument

_WHAT = {"best": "X-ray sources (best observations)", "candidates": "candidates"}


@click.group("tables", cls=XrbidGroup)
def tables() -> None:
    """Tables for papers."""


@tables.command("paper")
@table_argument()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["aastex", "latex", "mrt"]),
    default="aastex",
    show_default=True,
    help="aastex (deluxetable), latex (tabular) or mrt (the AAS machine-readable table).",
)
@click.option(
    "--kind",
    type=click.Choice(["best", "candidates"]),
    help="What TABLE holds [default: candidates when it has a rank column, else best].",
)
@click.option("--caption", help="Table caption (title of an MRT).")
@output_option("Output file, e.g. table1.tex (or table1.txt for an MRT).")
@overwrite_option
@json_option
def paper(
    table_path: Path,
    fmt: str,
    kind: str | None,
    caption: str | None,
    output: Path,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Write TABLE (best observations or candidates) as a table for a paper.

    Positions in sexagesimal to 0.01 s (RA) and 0.1 arcsec (Dec); radii and separations
    to 0.01 arcsec; magnitudes and their errors to 0.01 mag; units in the header.

    \b
    Examples (M101):
      xrbid tables paper m101_best.ecsv --format aastex -o table1.tex
      xrbid tables paper m101_cand_phot.ecsv --format mrt -o table2.txt
    """
    from xrbid.paper_tables import table_kind, write_paper_table
    from xrbid.tables import read_table

    check_outputs(overwrite, output)
    df = read_table(table_path)
    kind = kind or table_kind(df)
    write_paper_table(df, output, fmt=fmt, kind=kind, caption=caption, overwrite=overwrite)
    emit_written(
        table_path,
        f"{len(df)} {_WHAT[kind]}",
        output,
        {"rows": len(df), "kind": kind, "format": fmt},
        as_json,
        note=f" ({fmt})",
    )


__all__ = ["tables"]
