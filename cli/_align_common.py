"""What ``xrbid align median`` and ``align wls`` share: their inputs, outputs and summary."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ._common import check_outputs, emit
from ._options import (
    FILE,
    json_option,
    option_group,
    output_option,
    overwrite_option,
    plot_option,
)

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


@dataclass(frozen=True)
class SolutionOutputs:
    """Where a solution goes: ``-o``, ``--matched-regions``, ``--field``, ``--plot``,
    ``--overwrite``, ``--json``."""

    output: Path
    matched: Path | None
    field: str | None
    plot: Path | None
    overwrite: bool
    as_json: bool

    def check(self) -> None:
        """Refuse existing or unwritable outputs before any input is read."""
        check_outputs(self.overwrite, self.output, self.matched, figures=[self.plot])

    def finish(self, solution: Any, what: str, field: str) -> None:
        """Write the solution and its optional region file and plot; report it.

        Unmatched ``what`` (calibrators, X-ray sources), the solution's notes and raised QA
        flags are one line each on stderr; the summary (or ``--json``) on stdout. ``field``
        titles the plot when ``--field`` is not given.
        """
        overwrite = self.overwrite
        solution.write_json(self.output, overwrite=overwrite)
        if self.matched is not None:
            solution.write_matched_regions(self.matched, overwrite=overwrite)
        if self.plot is not None:
            solution.plot_residuals(self.plot, overwrite=overwrite, field=self.field or field)
        _warn(solution, what)
        data = {
            "output": str(self.output),
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
        emit(f"{solution.summary()} -> {self.output}", data, self.as_json)


def _warn(solution: Any, what: str) -> None:
    """The solution's unmatched sources, notes and raised QA flags, one line each on stderr."""
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


solution_outputs = option_group(
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
    ],
    "out",
    SolutionOutputs,
)
"""The solution's outputs, handed to the command as one `SolutionOutputs` (``out``)."""


def default_field(obsid: int | None, xray_path: Path) -> str:
    """The plot title's field without --field: ``ObsID N`` with --obsid, else the file's name."""
    return f"ObsID {obsid}" if obsid is not None else xray_path.stem
