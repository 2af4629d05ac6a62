"""``xrbid counterparts``: optical sources inside each X-ray source's 2σ radius."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import XrbidCommand, check_outputs, emit
from ._options import ANGLE, FILE, json_option, output_option, overwrite_option, table_argument


def _split_optical(spec: str) -> tuple[str | None, Path]:
    """``F555W=path`` -> ("F555W", path); a bare path -> (None, path)."""
    name, sep, rest = spec.partition("=")
    if sep and name and not Path(spec).exists():
        return name, Path(rest)
    return None, Path(spec)


def _read_optical(path: Path):
    from xrbid.tables import read_table_or_regions

    df = read_table_or_regions(path, required=["ra", "dec"], what="an optical catalogue")
    if path.suffix.lower() == ".reg":
        return df[[c for c in ("ra", "dec", "label") if c in df.columns]]
    return df


@click.command("counterparts", cls=XrbidCommand)
@table_argument("best_path", "BEST")
@click.argument("optical", metavar="OPTICAL...", nargs=-1, required=True)
@output_option("Candidate table (.ecsv .csv .fits .vot .parquet), one row per X-ray/optical pair.")
@click.option(
    "--regions",
    "regions_path",
    type=FILE,
    help="Also write the candidates as a DS9 region file labelled SOURCE_ID:RANK.",
)
@click.option(
    "--radius-column",
    default="pu_2sigma",
    show_default=True,
    help="X-ray column holding the search radius (arcsec).",
)
@click.option(
    "--merge-tolerance",
    type=ANGLE,
    default="0.1arcsec",
    show_default=True,
    help="Several optical catalogues: detections closer than this are one object.",
)
@overwrite_option
@json_option
def counterparts(
    best_path: Path,
    optical: tuple[str, ...],
    output: Path,
    regions_path: Path | None,
    radius_column: str,
    merge_tolerance: float,
    overwrite: bool,
    as_json: bool,
) -> None:
    """List the optical sources inside each X-ray source's radius (the candidates).

    OPTICAL is a table with ra/dec (any table format) or a fk5 region file. Give several as
    FILTER=PATH to merge per-filter catalogues by position first (columns get a _FILTER
    suffix). Separations are true angular distances; each candidate gets its separation in
    arcsec and in units of the source's 1-sigma radius, an inside-1-sigma flag and its rank.

    \b
    Example (M101 best observations against an F555W source list):
      xrbid counterparts m101_best.ecsv f555w_sources.ecsv -o m101_candidates.ecsv \\
          --regions m101_candidates.reg
      xrbid counterparts m101_best.ecsv F555W=f555w.ecsv F814W=f814w.ecsv -o cands.ecsv
    """
    from xrbid.errors import InputError
    from xrbid.selection import (
        find_counterparts,
        merge_optical_catalogs,
        write_counterpart_regions,
    )
    from xrbid.tables import check_table_output, read_table, write_table

    check_table_output(output, overwrite)
    check_outputs(overwrite, regions_path)
    xray = read_table(
        best_path,
        required=["source_id", "ra", "dec", radius_column],
        what="counterpart search (run `xrbid pu` and `xrbid best` first)",
    )
    specs = [_split_optical(s) for s in optical]
    if len(specs) == 1:
        opt = _read_optical(specs[0][1])
    else:
        names = [name or path.stem for name, path in specs]
        if len(set(names)) != len(names):
            raise InputError(
                "two optical catalogues have the same filter name; give them as FILTER=PATH"
            )
        opt = merge_optical_catalogs(
            {name: _read_optical(path) for name, (_, path) in zip(names, specs)},
            tolerance=merge_tolerance,
        )
    cands = find_counterparts(xray, opt, radius_column=radius_column)
    if regions_path is not None:
        write_counterpart_regions(cands, regions_path, overwrite=overwrite)
    write_table(cands, output, overwrite=overwrite)

    n_with = int(cands["source_id"].nunique())
    n_in1 = int(cands["inside_1sigma"].sum()) if "inside_1sigma" in cands.columns else None
    data = {
        "xray": str(best_path),
        "optical": list(optical),
        "optical_sources": len(opt),
        "xray_sources": len(xray),
        "sources_with_candidates": n_with,
        "candidates": len(cands),
        "inside_1sigma": n_in1,
        "output": str(output),
        "regions": str(regions_path) if regions_path else None,
    }
    inside = f" ({n_in1} inside 1-sigma)" if n_in1 is not None else ""
    emit(
        f"{len(cands)} candidates{inside} for {n_with} of {len(xray)} X-ray sources among "
        f"{len(opt)} optical sources -> {output}"
        + (f" and {regions_path}" if regions_path else ""),
        data,
        as_json,
    )
