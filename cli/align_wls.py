"""``xrbid align wls`` and ``align stacks``: the CSC 2.1 weighted least-squares translation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ._align_common import (
    SolutionOutputs,
    default_field,
    input_option,
    obsid_option,
    solution_outputs,
    weights_option,
)
from ._common import XrbidCommand, emit
from ._options import (
    ANGLE,
    FILE,
    json_option,
    max_sep_option,
    option_group,
    output_option,
    overwrite_option,
)


def _selection(
    max_theta: float, all_theta: bool, keep_saturated: bool, keep_convex_hull: bool, likelihood: str
) -> dict[str, Any]:
    """The keywords of the input selection for `align_wls` and `align_wls_stacks`."""
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


_selection_options = option_group(
    [
        click.option(
            "--max-theta",
            type=ANGLE,
            default="10arcmin",
            show_default=True,
            help="Keep detections with off-axis angle theta below this (CSC 2.1 r_stack).",
        ),
        click.option("--all-theta", is_flag=True, help="No off-axis cut (ignore --max-theta)."),
        click.option(
            "--keep-saturated", is_flag=True, help="Keep detections whose sat_src_flag is set."
        ),
        click.option(
            "--keep-convex-hull",
            is_flag=True,
            help="Keep convex-hull (extended) sources, CSC names ending in X.",
        ),
        click.option(
            "--likelihood",
            default="TRUE,MARGINAL",
            show_default=True,
            metavar="CLASSES",
            help="Likelihood classes to keep (comma-separated), or 'any' for no cut.",
        ),
    ],
    "selection",
    _selection,
)
"""The input selection of CSC 2.1 §5.1/§5.5.1 (each filter on by default), handed to the
command as the keywords of `_selection` (``selection``)."""


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


@click.command("wls", cls=XrbidCommand)
@input_option(
    "--xray", "xray_path", "X-ray detections (ra, dec, err_r0, err_r1; theta, counts for QA)."
)
@input_option(
    "--reference",
    "reference_path",
    "Reference sources, e.g. Gaia (ra, dec; pmra, pmdec in mas/yr).",
)
@obsid_option
@weights_option
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
@max_sep_option("3arcsec", 'Match radius (the last separation group ends at 3").')
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
    type=FILE,
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
@solution_outputs
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
    selection: dict[str, Any],
    out: SolutionOutputs,
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
    from xrbid.align.reading import read_alignment_input as read

    out.check()
    xray = read(xray_path, "X-ray table", obsid)
    reference = read(reference_path, "reference table", obsid)
    inter = read(intermediate_path, "intermediate catalogue") if intermediate_path else None
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
        **selection,
    )
    out.finish(solution, "X-ray source(s)", default_field(obsid, xray_path))


@click.command("stacks", cls=XrbidCommand)
@input_option(
    "--xray", "xray_path", "Detections of all stacks (stack column, ra, dec, err_r0, err_r1)."
)
@input_option(
    "--reference",
    "reference_path",
    "Reference sources of all stacks (stack column, ra, dec, pmra, pmdec).",
)
@click.option(
    "--stack-column",
    default="stack_id",
    show_default=True,
    help="Column naming the stack in both tables.",
)
@weights_option
@output_option("Table of per-stack shifts, scatter and QA flags.")
@_selection_options
@overwrite_option
@json_option
def stacks(
    xray_path: Path,
    reference_path: Path,
    stack_column: str,
    weights: str,
    selection: dict[str, Any],
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
        **selection,
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
