"""``xrbid align``: astrometric alignment of X-ray positions to an optical/reference frame.

``median`` and ``apply`` are here; ``wls`` and ``stacks`` (the CSC 2.1 fit) in ``align_wls``.
"""

from __future__ import annotations

from pathlib import Path

import click

from ._align_common import (
    SolutionOutputs,
    default_field,
    input_option,
    obsid_option,
    solution_outputs,
)
from ._common import XrbidGroup, emit
from ._options import (
    FILE,
    id_options,
    json_option,
    max_sep_option,
    output_option,
    overwrite_option,
    source_ids,
    table_argument,
)


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


@align.command("median")
@input_option(
    "--xray", "xray_path", "X-ray calibrators (table with ra, dec; source_id to name them)."
)
@input_option(
    "--optical",
    "optical_path",
    "Optical sources: a table with ra, dec or a DS9 region file (fk5/icrs).",
)
@id_options(
    id_help="Use only this calibrator of the --xray table (repeat for several).",
    file_help="Use only the calibrators listed in this file (one source_id a line).",
)
@obsid_option
@max_sep_option("2arcsec", "Largest calibrator-optical separation (e.g. 2arcsec, 0.03arcmin).")
@click.option("--clip", type=float, help="Iterative n-sigma clipping of the offsets, e.g. 3.")
@solution_outputs
def median(
    xray_path: Path,
    optical_path: Path,
    ids: tuple[str, ...],
    ids_file: Path | None,
    obsid: int | None,
    max_sep: float,
    clip: float | None,
    out: SolutionOutputs,
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
    from xrbid.align.reading import read_alignment_input
    from xrbid.tables import select_sources

    wanted = source_ids(ids, ids_file, required=False, what="calibrators")
    out.check()
    xray = read_alignment_input(xray_path, "X-ray table", obsid)
    if wanted is not None:
        xray = select_sources(xray, wanted, missing="error")
    optical = read_alignment_input(optical_path, "optical table", obsid)
    solution = align_median(xray, optical, max_sep=max_sep, clip=clip)
    out.finish(solution, "calibrator(s)", default_field(obsid, xray_path))


@align.command("apply")
@table_argument()
@click.argument("solution_path", metavar="SOLUTION", type=FILE)
@output_option("Output table with ra_aligned, dec_aligned added (originals kept).")
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


from .align_wls import stacks as _stacks  # noqa: E402
from .align_wls import wls as _wls  # noqa: E402

align.add_command(_wls)
align.add_command(_stacks)
