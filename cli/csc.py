"""``xrbid csc``: load Chandra Source Catalog tables, keep one row per source, select sources."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import XrbidGroup, emit_written
from ._options import (
    headers_option,
    id_options,
    json_option,
    output_option,
    overwrite_option,
    source_ids,
    table_argument,
)

_output_option = output_option(
    "Output table; the format follows the extension (.csv .frame .ecsv .fits .vot .xml .parquet)."
)


def _n_sources(df) -> int | None:
    return int(df["source_id"].nunique()) if "source_id" in df.columns else None


@click.group(cls=XrbidGroup)
def csc() -> None:
    """Chandra Source Catalog tables: load, unique sources, select sources.

    \b
    On the M101 example:
      xrbid csc load cscresults_M101.vot -o m101.ecsv
      xrbid csc unique m101.ecsv -o m101_unique.ecsv
      xrbid csc select m101_unique.ecsv --ids-file calibrators.txt -o calibrators.ecsv
    """


@csc.command("load")
@table_argument("input_path", "INPUT")
@_output_option
@headers_option
@click.option(
    "--table",
    "table",
    type=click.IntRange(min=0),
    default=None,
    help="Which table of a VOTable or FITS file holding several (counting from 0).",
)
@overwrite_option
@json_option
def load(
    input_path: Path, output: Path, headers: str, table: int | None, overwrite: bool, as_json: bool
) -> None:
    """Read a CSC table (CSCview/TAP export or XRBID frame) and write it in the canonical schema.

    Column names are mapped onto the canonical schema (source_id, ra, dec, theta, counts,
    err_r0, ...); see docs/schema.md.

    \b
    Example (M101, CSCview VOTable -> ECSV with units):
      xrbid csc load cscresults_M101.vot -o m101.ecsv
      xrbid csc load cscresults_M101.vot -o m101_renamed.frame --headers xrbid
    """
    from xrbid.tables import read_table, write_table

    df = read_table(
        input_path, table=table, required=["source_id", "ra", "dec"], what="a CSC table"
    )
    write_table(df, output, overwrite=overwrite, headers=headers)
    data = {"rows": len(df), "sources": _n_sources(df), "columns": list(df.columns)}
    text = f"{len(df)} rows, {data['sources']} sources, {len(df.columns)} columns"
    emit_written(input_path, text, output, data, as_json)


@csc.command("unique")
@table_argument(metavar=None)
@_output_option
@headers_option
@overwrite_option
@json_option
def unique(table_path: Path, output: Path, headers: str, overwrite: bool, as_json: bool) -> None:
    """Keep the first row (observation) of every source, in table order.

    \b
    Example (M101: 3492 rows -> 555 sources):
      xrbid csc unique m101.ecsv -o m101_unique.ecsv
    """
    from xrbid.tables import check_table_output, read_table, unique_sources, write_table

    check_table_output(output, overwrite)
    df = read_table(table_path, required=["source_id"], what="unique sources")
    out = unique_sources(df)
    write_table(out, output, overwrite=overwrite, headers=headers)
    data = {"rows": len(out), "sources": _n_sources(out), "input_rows": len(df)}
    emit_written(table_path, f"{len(df)} rows -> {len(out)} unique sources", output, data, as_json)


@csc.command("select")
@table_argument(metavar=None)
@id_options
@click.option(
    "--missing",
    type=click.Choice(["error", "warn"]),
    default="error",
    show_default=True,
    help="IDs not in the table: stop with an error, or warn and write the rest.",
)
@_output_option
@headers_option
@overwrite_option
@json_option
def select(
    table_path: Path,
    ids: tuple[str, ...],
    ids_file: Path | None,
    missing: str,
    output: Path,
    headers: str,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Keep the rows of the given sources (table order), e.g. astrometric calibrators.

    \b
    Example (M101, two of the nine calibrators of the XRBID guide):
      xrbid csc select m101_unique.ecsv -o calibrators.ecsv \\
          --id "2CXO J140251.0+542420" --id "2CXO J140248.0+542403"
      xrbid csc select m101_unique.ecsv --ids-file calibrators.txt -o calibrators.ecsv
    """
    from xrbid.errors import InputError
    from xrbid.tables import (
        check_table_output,
        read_table,
        select_sources,
        write_table,
    )

    wanted = source_ids(ids, ids_file, required=True)
    check_table_output(output, overwrite)
    df = read_table(table_path, required=["source_id"], what="selecting sources")
    try:
        out = select_sources(df, wanted, missing=missing)
    except InputError as exc:
        if "IDs not in the table" not in str(exc):
            raise
        raise InputError(f"{exc} (or accept them with --missing warn)") from None
    write_table(out, output, overwrite=overwrite, headers=headers)
    data = {"rows": len(out), "sources": _n_sources(out), "requested": len(wanted)}
    text = f"{len(out)} rows ({data['sources']} of {len(set(wanted))} requested sources found)"
    emit_written(table_path, text, output, data, as_json)


# Further sub-commands register below, e.g. `csc.add_command(query)`.
from .archives import query as _query  # noqa: E402

csc.add_command(_query)
