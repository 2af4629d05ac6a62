"""``xrbid align``: astrometric alignment of X-ray positions to an optical/reference frame."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ._common import ANGLE, XrbidGroup, emit, json_option, overwrite_option

_PATH = click.Path(dir_okay=False, path_type=Path)


@click.group(cls=XrbidGroup)
def align() -> None:
    """Align X-ray positions to the optical frame: median offset, WLS fit, apply a shift.

    Offsets are measured on the tangent plane (dRA*cos(dec), dDec) in arcsec. The solution
    JSON carries the shift, its scatter std_x/std_y (used by `xrbid pu --solution`), the
    pairs used and QA flags.

    \b
    M101 (XRBID guide): nine calibrators against the HST source list
      xrbid csc select m101_unique.ecsv --ids-file calibrators.txt -o calibrators.ecsv
      xrbid align median --xray calibrators.ecsv --optical M101_daofind_f555w_acs_fk5.reg \\
          --max-sep 2arcsec -o m101_align.json --matched-regions m101_matched.reg \\
          --plot m101_residuals.png
      xrbid align apply m101.ecsv m101_align.json -o m101_aligned.ecsv
    """


def _read(path: Path, what: str, obsid: int | None) -> Any:
    """A table or (``.reg``) region file, optionally restricted to one ObsID."""
    from xrbid.errors import ColumnError
    from xrbid.tables import read_table_or_regions

    df = read_table_or_regions(path, what=what)
    if obsid is not None:
        if "obsid" not in df.columns:
            raise ColumnError(f"{path}: --obsid given but the {what} has no obsid column")
        df = df[_obsids(df["obsid"], path, what) == obsid].reset_index(drop=True)
    return df


def _obsids(column: Any, path: Path, what: str) -> Any:
    """The ObsID column as numbers; a text value or an all-empty column is an error."""
    import pandas as pd

    from xrbid.errors import ColumnError

    values = pd.to_numeric(column, errors="coerce")
    text = column.astype("string").str.strip()
    bad = values.isna() & column.notna() & (text.fillna("") != "")
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise ColumnError(
            f"{path}: obsid {column.iloc[row]!r} (row {row + 1} of the {what}) is not a number; "
            "--obsid needs numeric ObsIDs"
        )
    if values.isna().all():
        raise ColumnError(
            f"{path}: the obsid column of the {what} is empty; fill it, or drop --obsid to use "
            "all rows"
        )
    return values


def _check_outputs(overwrite: bool, *paths: Path | None) -> None:
    from xrbid._io import check_output

    for p in paths:
        if p is not None:
            check_output(p, overwrite)


def _finish(
    solution: Any,
    output: Path,
    matched: Path | None,
    plot: Path | None,
    overwrite: bool,
    as_json: bool,
    what: str,
    field: str | None = None,
) -> None:
    solution.write_json(output, overwrite=overwrite)
    if matched is not None:
        solution.write_matched_regions(matched, overwrite=overwrite)
    if plot is not None:
        solution.plot_residuals(plot, overwrite=overwrite, field=field)
    if solution.unmatched:
        shown = ", ".join(map(str, solution.unmatched[:10]))
        more = "" if len(solution.unmatched) <= 10 else f" (+{len(solution.unmatched) - 10} more)"
        click.echo(
            f"Warning: {len(solution.unmatched)} {what} without a match within "
            f'{solution.params["max_sep"]:g}": {shown}{more}',
            err=True,
        )
    for note in solution.notes:
        click.echo(f"Note: {note}", err=True)
    if solution.flags.get("few_matches"):
        click.echo(
            f"Warning: only {solution.n_used} pair(s) used (fewer than 3): the shift and "
            "scatter are unreliable; the solution is written and flagged few_matches",
            err=True,
        )
    raised = [k for k, v in solution.flags.items() if v and k != "few_matches"]
    if raised:
        click.echo(f"Warning: QA flags raised: {', '.join(raised)}", err=True)
    data = {
        "output": str(output),
        "method": solution.method,
        "shift_x": solution.shift_x,
        "shift_y": solution.shift_y,
        "std_x": solution.std_x,
        "std_y": solution.std_y,
        "n_used": solution.n_used,
        "significant": solution.significant,
        "flags": solution.flags,
        "unmatched": solution.unmatched,
        "input_selection": solution.selection,
    }
    emit(f"{solution.summary()} -> {output}", data, as_json)


def _output_options(f: Any) -> Any:
    f = click.option(
        "--plot",
        type=_PATH,
        help="Write a plot of the offsets with the shift and its 1-sigma ellipse, east to the "
        "left; the format follows the suffix (.png .pdf .svg).",
    )(f)
    f = click.option(
        "--field",
        help="Field named in the plot's title [default: ObsID N with --obsid, else the X-ray "
        "file's name].",
    )(f)
    f = click.option(
        "--matched-regions",
        "matched",
        type=_PATH,
        help="Write a DS9 region file of the matched optical/reference sources.",
    )(f)
    f = click.option(
        "-o",
        "--output",
        required=True,
        type=_PATH,
        help="Alignment solution (JSON).",
    )(f)
    return f


def _selection_options(f: Any) -> Any:
    """The input selection of CSC 2.1 §5.1/§5.5.1 (each filter on by default)."""
    f = click.option(
        "--likelihood",
        default="TRUE,MARGINAL",
        show_default=True,
        metavar="CLASSES",
        help="Likelihood classes to keep (comma-separated), or 'any' for no cut.",
    )(f)
    f = click.option(
        "--keep-convex-hull",
        is_flag=True,
        help="Keep convex-hull (extended) sources, CSC names ending in X.",
    )(f)
    f = click.option(
        "--keep-saturated", is_flag=True, help="Keep detections whose sat_src_flag is set."
    )(f)
    f = click.option("--all-theta", is_flag=True, help="No off-axis cut (ignore --max-theta).")(f)
    f = click.option(
        "--max-theta",
        type=ANGLE,
        default="10arcmin",
        show_default=True,
        help="Keep detections with off-axis angle theta below this (CSC 2.1 r_stack).",
    )(f)
    return f


def _selection_kwargs(
    max_theta: float, all_theta: bool, keep_saturated: bool, keep_convex_hull: bool, likelihood: str
) -> dict[str, Any]:
    classes = [c.strip() for c in likelihood.split(",") if c.strip()]
    if not classes:
        raise click.BadParameter(
            "give classes such as TRUE,MARGINAL, or 'any'", param_hint="--likelihood"
        )
    return {
        "max_theta": None if all_theta else max_theta,
        "exclude_saturated": not keep_saturated,
        "exclude_convex_hull": not keep_convex_hull,
        "likelihood_classes": None if [c.lower() for c in classes] == ["any"] else tuple(classes),
    }


@align.command("median")
@click.option(
    "--xray",
    "xray_path",
    required=True,
    type=_PATH,
    help="X-ray calibrators (table with ra, dec; source_id to name them).",
)
@click.option(
    "--optical",
    "optical_path",
    required=True,
    type=_PATH,
    help="Optical sources: a table with ra, dec or a DS9 region file (fk5/icrs).",
)
@click.option(
    "--id",
    "ids",
    multiple=True,
    help="Use only this calibrator of the --xray table (repeat for several).",
)
@click.option(
    "--ids-file",
    type=_PATH,
    help="Use only the calibrators listed in this file (one source_id a line).",
)
@click.option("--obsid", type=int, help="Use only the rows of this ObsID (both tables).")
@click.option(
    "--max-sep",
    type=ANGLE,
    default="2arcsec",
    show_default=True,
    help="Largest calibrator-optical separation (e.g. 2arcsec, 0.03arcmin).",
)
@click.option("--clip", type=float, help="Iterative n-sigma clipping of the offsets, e.g. 3.")
@_output_options
@overwrite_option
@json_option
def median(
    xray_path: Path,
    optical_path: Path,
    ids: tuple[str, ...],
    ids_file: Path | None,
    obsid: int | None,
    max_sep: float,
    clip: float | None,
    output: Path,
    matched: Path | None,
    plot: Path | None,
    field: str | None,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Median offset of X-ray calibrators from their nearest optical sources (XRBID method).

    The shift is the median of optical - X-ray per axis, the scatter the population standard
    deviation of the offsets; the shift is significant if it exceeds the scatter on either
    axis. Calibrators without an optical source within --max-sep are listed on stderr.

    \b
    Example (M101, the XRBID guide's nine calibrators):
      xrbid align median --xray m101_unique.ecsv --ids-file calibrators.txt \\
          --optical M101_daofind_f555w_acs_fk5.reg -o m101_align.json \\
          --matched-regions m101_astrocorrect.reg --plot m101_residuals.png
    """
    from xrbid.align import align_median
    from xrbid.errors import InputError
    from xrbid.figures import check_figure_path
    from xrbid.tables import read_ids, select_sources

    if ids and ids_file:
        raise InputError("give the calibrators with --id or with --ids-file, not both")
    _check_outputs(overwrite, output, matched, plot)
    if plot is not None:
        check_figure_path(plot, overwrite)
    xray = _read(xray_path, "X-ray table", obsid)
    if ids or ids_file:
        wanted = list(ids) if ids else read_ids(ids_file)
        xray = select_sources(xray, wanted, missing="error")
    optical = _read(optical_path, "optical table", obsid)
    solution = align_median(xray, optical, max_sep=max_sep, clip=clip)
    field = field or (f"ObsID {obsid}" if obsid is not None else xray_path.stem)
    _finish(solution, output, matched, plot, overwrite, as_json, "calibrator(s)", field)


def _parse_point(value: str | None) -> tuple[float, float] | None:
    if value is None:
        return None
    parts = [p for p in value.replace(" ", ",").split(",") if p]
    try:
        ra, dec = (float(p) for p in parts)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not RA,DEC in degrees (e.g. 210.8023,54.3487)", param_hint="--ref-point"
        ) from None
    return ra, dec


@align.command("wls")
@click.option(
    "--xray",
    "xray_path",
    required=True,
    type=_PATH,
    help="X-ray detections (ra, dec, err_r0, err_r1; theta, counts for QA).",
)
@click.option(
    "--reference",
    "reference_path",
    required=True,
    type=_PATH,
    help="Reference sources, e.g. Gaia (ra, dec; pmra, pmdec in mas/yr).",
)
@click.option("--obsid", type=int, help="Use only the rows of this ObsID (both tables).")
@click.option(
    "--weights",
    type=click.Choice(["ellipse", "uniform"]),
    default="ellipse",
    show_default=True,
    help="Pair weights: 1/(err_r0*err_r1), or all equal.",
)
@click.option(
    "--loss",
    default="cauchy",
    show_default=True,
    type=click.Choice(["cauchy", "linear", "soft_l1", "huber", "arctan"]),
    help="Robust loss of scipy.optimize.least_squares.",
)
@click.option(
    "--bounds",
    type=ANGLE,
    default="5arcsec",
    show_default=True,
    help="Largest shift allowed on each axis.",
)
@click.option(
    "--max-sep",
    type=ANGLE,
    default="3arcsec",
    show_default=True,
    help='Match radius (the last separation group ends at 3").',
)
@click.option(
    "--pm-limit",
    type=float,
    default=50.0,
    show_default=True,
    help="Drop reference sources with proper motion above this (mas/yr).",
)
@click.option(
    "--ref-point",
    metavar="RA,DEC",
    help="Tangent point in degrees (default: centroid of the X-ray sources).",
)
@click.option(
    "--density",
    type=float,
    help="Reference sources per arcmin^2 (default: counted from --reference "
    "within 10 arcmin of the tangent point).",
)
@click.option(
    "--intermediate",
    "intermediate_path",
    type=_PATH,
    help="Intermediate catalogue for the two-step fit (ra, dec, err_ra, err_dec, reference_id).",
)
@click.option(
    "--intermediate-density",
    type=float,
    help="Intermediate sources per arcmin^2 for the density flag of a two-step fit "
    "(default: counted from --intermediate within 10 arcmin of the tangent point).",
)
@click.option(
    "--keep-cc-flagged",
    is_flag=True,
    help="Keep intermediate (ALLWISE) sources whose cc_flags are not 0.",
)
@_selection_options
@_output_options
@overwrite_option
@json_option
def wls(
    xray_path: Path,
    reference_path: Path,
    obsid: int | None,
    weights: str,
    loss: str,
    bounds: float,
    max_sep: float,
    pm_limit: float,
    ref_point: str | None,
    density: float | None,
    intermediate_path: Path | None,
    intermediate_density: float | None,
    keep_cc_flagged: bool,
    max_theta: float,
    all_theta: bool,
    keep_saturated: bool,
    keep_convex_hull: bool,
    likelihood: str,
    output: Path,
    matched: Path | None,
    plot: Path | None,
    field: str | None,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Weighted least-squares translation (CSC 2.1 fine astrometry, Cauchy loss).

    First the input selection of CSC 2.1 (sec. 5.1): detections at theta >= 10', flagged
    saturated, convex-hull (extended) sources and likelihood classes other than TRUE or
    MARGINAL are left out, and ALLWISE sources with cc_flags other than 0; each where its
    column exists (the summary line counts what each removed). All reference sources within
    3" of each detection are candidates; the 0-1", 1-2" or 2-3" group with >= 3 matches and
    the lowest scatter is fitted. QA flags (density, large shift, few matches, no matches)
    are written into the solution and shown on stderr.

    \b
    Example (a Chandra observation against its optical/NIR counterparts):
      xrbid align wls --xray astromon_xray_src.ecsv --reference astromon_cat_src.ecsv \\
          --obsid 14536 --weights uniform -o 14536_wls.json --plot 14536_wls.png
    """
    from xrbid.align import align_wls
    from xrbid.figures import check_figure_path

    _check_outputs(overwrite, output, matched, plot)
    if plot is not None:
        check_figure_path(plot, overwrite)
    xray = _read(xray_path, "X-ray table", obsid)
    reference = _read(reference_path, "reference table", obsid)
    inter = _read(intermediate_path, "intermediate catalogue", None) if intermediate_path else None
    solution = align_wls(
        xray,
        reference,
        weights=weights,
        loss=loss,
        bounds=bounds,
        max_sep=max_sep,
        pm_limit=pm_limit,
        ref_point=_parse_point(ref_point),
        density=density,
        intermediate=inter,
        intermediate_density=intermediate_density,
        require_cc_flags_zero=not keep_cc_flagged,
        **_selection_kwargs(max_theta, all_theta, keep_saturated, keep_convex_hull, likelihood),
    )
    field = field or (f"ObsID {obsid}" if obsid is not None else xray_path.stem)
    _finish(solution, output, matched, plot, overwrite, as_json, "X-ray source(s)", field)


@align.command("apply")
@click.argument("table_path", metavar="TABLE", type=_PATH)
@click.argument("solution_path", metavar="SOLUTION", type=_PATH)
@click.option(
    "-o",
    "--output",
    required=True,
    type=_PATH,
    help="Output table with ra_aligned, dec_aligned added (originals kept).",
)
@click.option(
    "--replace",
    is_flag=True,
    help="Write the aligned positions into ra, dec (for the next steps) and keep the "
    "originals as ra_original, dec_original.",
)
@click.option(
    "--if-significant",
    is_flag=True,
    help="Apply the shift only if the solution says it is significant.",
)
@overwrite_option
@json_option
def apply(
    table_path: Path,
    solution_path: Path,
    output: Path,
    replace: bool,
    if_significant: bool,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Apply an alignment solution: add ra_aligned and dec_aligned columns to a table.

    The shift is applied on the solution's tangent plane; the original columns are kept.
    With --replace, ra and dec hold the aligned positions (so `xrbid pu`, `best` and
    `counterparts` use them) and the originals move to ra_original and dec_original.

    \b
    Example (M101):
      xrbid align apply m101.ecsv m101_align.json -o m101_aligned.ecsv --if-significant
      xrbid align apply m101.ecsv m101_align.json -o m101_aligned.ecsv --replace
    """
    from xrbid.align import AlignmentSolution, apply_shift
    from xrbid.tables import check_table_output, read_table, write_table

    check_table_output(output, overwrite)
    solution = AlignmentSolution.read_json(solution_path)
    df = read_table(table_path, required=["ra", "dec"], what="applying an alignment")
    when = "significant" if if_significant else "always"
    out = apply_shift(df, solution, when=when, replace=replace)
    write_table(out, output, overwrite=overwrite)
    applied = when == "always" or solution.significant
    if solution.qa_required:
        raised = ", ".join(k for k, v in solution.flags.items() if v)
        click.echo(f"Warning: the solution carries QA flags: {raised}", err=True)
    cols = (
        "ra, dec (originals: ra_original, dec_original)" if replace else "ra_aligned, dec_aligned"
    )
    summary = (
        f'{len(out)} rows shifted by ({solution.shift_x:+.4f}", {solution.shift_y:+.4f}") '
        f"-> {output} ({cols})"
        if applied
        else f"shift not significant: positions unchanged in {cols} -> {output}"
    )
    emit(
        summary,
        {
            "rows": len(out),
            "applied": applied,
            "shift_x": solution.shift_x,
            "shift_y": solution.shift_y,
            "output": str(output),
        },
        as_json,
    )


@align.command("stacks")
@click.option(
    "--xray",
    "xray_path",
    required=True,
    type=_PATH,
    help="Detections of all stacks (stack column, ra, dec, err_r0, err_r1).",
)
@click.option(
    "--reference",
    "reference_path",
    required=True,
    type=_PATH,
    help="Reference sources of all stacks (stack column, ra, dec, pmra, pmdec).",
)
@click.option(
    "--stack-column",
    default="stack_id",
    show_default=True,
    help="Column naming the stack in both tables.",
)
@click.option(
    "--weights",
    type=click.Choice(["ellipse", "uniform"]),
    default="ellipse",
    show_default=True,
    help="Pair weights: 1/(err_r0*err_r1), or all equal.",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=_PATH,
    help="Table of per-stack shifts, scatter and QA flags.",
)
@_selection_options
@overwrite_option
@json_option
def stacks(
    xray_path: Path,
    reference_path: Path,
    stack_column: str,
    weights: str,
    max_theta: float,
    all_theta: bool,
    keep_saturated: bool,
    keep_convex_hull: bool,
    likelihood: str,
    output: Path,
    overwrite: bool,
    as_json: bool,
) -> None:
    """WLS translations for many stacks at once (one row per stack).

    \b
    Example:
      xrbid align stacks --xray detections.parquet --reference gaia.parquet -o shifts.ecsv
    """
    from xrbid.align import align_wls_stacks
    from xrbid.tables import check_table_output, read_table, write_table

    check_table_output(output, overwrite)
    xray = read_table(xray_path)
    reference = read_table(reference_path)
    table = align_wls_stacks(
        xray,
        reference,
        stack_column=stack_column,
        weights=weights,
        **_selection_kwargs(max_theta, all_theta, keep_saturated, keep_convex_hull, likelihood),
    )
    write_table(table.reset_index(), output, overwrite=overwrite)
    n_qa = int(table["qa_required"].sum())
    removed = {
        c.removeprefix("removed_"): int(table[c].sum())
        for c in table.columns
        if c.startswith("removed_")
    }
    text = ", ".join(f"{k.replace('_', '-')} {v}" for k, v in removed.items() if v)
    emit(
        f"{len(table)} stacks aligned, {n_qa} flagged for QA"
        f"{'; inputs removed: ' + text if text else ''} -> {output}",
        {"stacks": len(table), "qa_required": n_qa, "removed": removed, "output": str(output)},
        as_json,
    )
