"""What ``xrbid align median`` and ``align wls`` share: their inputs, outputs and summary."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ._common import FILE, check_outputs, emit, output_option, plot_option
from ._options import json_option, overwrite_option

_UNMATCHED_SHOWN = 10  # unmatched sources named on the warning line; the rest are counted


def input_option(flag: str, dest: str, help: str) -> Callable:
    """A required table of positions (``--xray``, ``--optical``, ``--reference``)."""
    return click.option(flag, dest, required=True, type=FILE, help=help)


obsid_option = click.option(
    "--obsid", type=int, help="Use only the rows of this ObsID (both tables)."
)

weights_option = click.option(
    "--weights",
    type=click.Choice(["ellipse", "uniform"]),
    default="ellipse",
    show_default=True,
    help="Pair weights: 1/(err_r0*err_r1), or all equal.",
)


def solution_outputs(f: Callable) -> Callable:
    """``-o`` (the solution JSON), ``--matched-regions``, ``--field``, ``--plot``; then
    ``--overwrite`` and ``--json``."""
    for option in reversed(
        [
            output_option("Alignment solution (JSON)."),
            click.option(
                "--matched-regions",
                "matched",
                type=FILE,
                help="Write a DS9 region file of the matched optical/reference sources.",
            ),
            click.option(
                "--field",
                help="Field named in the plot's title [default: ObsID N with --obsid, else the "
                "X-ray file's name].",
            ),
            plot_option(
                "Write a plot of the offsets with the shift and its 1-sigma ellipse, east to the "
                "left; the format follows the suffix (.png .pdf .svg)."
            ),
            overwrite_option,
            json_option,
        ]
    ):
        f = option(f)
    return f


def check_solution_outputs(
    overwrite: bool, output: Path, matched: Path | None, plot: Path | None
) -> None:
    """Refuse existing or unwritable outputs before any input is read."""
    check_outputs(overwrite, output, matched, figures=[plot])


def finish(
    solution: Any,
    output: Path,
    matched: Path | None,
    plot: Path | None,
    overwrite: bool,
    as_json: bool,
    what: str,
    field: str,
) -> None:
    """Write the solution and its optional region file and plot; report it.

    Unmatched ``what`` (calibrators, X-ray sources), the solution's notes and raised QA flags
    are one line each on stderr; the summary (or ``--json``) on stdout.
    """
    solution.write_json(output, overwrite=overwrite)
    if matched is not None:
        solution.write_matched_regions(matched, overwrite=overwrite)
    if plot is not None:
        solution.plot_residuals(plot, overwrite=overwrite, field=field)
    unmatched = solution.unmatched
    if unmatched:
        shown = ", ".join(map(str, unmatched[:_UNMATCHED_SHOWN]))
        rest = len(unmatched) - _UNMATCHED_SHOWN
        more = f" (+{rest} more)" if rest > 0 else ""
        click.echo(
            f"Warning: {len(unmatched)} {what} without a match within "
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
        "unmatched": unmatched,
        "input_selection": solution.selection,
    }
    emit(f"{solution.summary()} -> {output}", data, as_json)


def field_name(field: str | None, obsid: int | None, xray_path: Path) -> str:
    """The plot title's field: as given, else ``ObsID N`` with --obsid, else the file's name."""
    return field or (f"ObsID {obsid}" if obsid is not None else xray_path.stem)
