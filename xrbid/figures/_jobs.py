"""Figures drawn from plain data, by name: what a run sends to its plotting process.

A *job* is a figure kind (a key of `KINDS`), its numbers and strings (``values``, JSON-ready)
and its arrays (``arrays``, numpy). `render` draws and saves one job; the same function draws
it in the plotting process (`xrbid.figures._worker`) and in the run's own process (the
fallback of `xrbid.pipeline.render`), so both write the same bytes. `encode_arrays` and
`decode_arrays` carry the arrays as an ``.npz`` archive (base64 text in a JSON line), read
back without pickles.

Importing this module loads numpy, not matplotlib.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from xrbid.errors import InputError

from ._save import save_figure

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from xrbid.align import AlignmentSolution

__all__ = ["KINDS", "alignment_job", "cmd_job", "decode_arrays", "encode_arrays", "render"]

Values = dict[str, Any]
Arrays = dict[str, np.ndarray]


def alignment_job(
    solution: AlignmentSolution, field: str | None = None
) -> tuple[str, Values, Arrays]:
    """The alignment plot of ``solution`` as a job: what `AlignmentSolution.plot_residuals` draws.

    Returns
    -------
    kind : str
        ``"alignment"``.
    values : dict
        ``shift`` and ``std`` (x, y; arcsec), ``title`` and ``dpi`` (150).
    arrays : dict of numpy.ndarray
        ``dx``, ``dy`` (arcsec) and ``used`` (bool) of the calibrator pairs.
    """
    from .alignment import alignment_title, pair_offsets

    dx, dy, used = pair_offsets(solution)
    values = {
        "shift": [float(solution.shift_x), float(solution.shift_y)],
        "std": [float(solution.std_x), float(solution.std_y)],
        "title": alignment_title(solution, field),
        "dpi": 150,
    }
    return "alignment", values, {"dx": dx, "dy": dy, "used": used}


def _draw_alignment(values: Values, arrays: Arrays) -> Figure:
    from .alignment import draw_alignment

    return draw_alignment(
        np.asarray(arrays["dx"], float),
        np.asarray(arrays["dy"], float),
        np.asarray(arrays["used"], bool),
        (float(values["shift"][0]), float(values["shift"][1])),
        (float(values["std"][0]), float(values["std"][1])),
        title=str(values["title"]),
    )


def cmd_job(
    table: pd.DataFrame, color: str | Sequence[str], *, system: str | None = None
) -> tuple[str, Values, Arrays]:
    """The CMD of ``table`` as a job: what ``plot_cmd(table, color, system=system)`` draws.

    Raises
    ------
    ColumnError, InputError
        As `xrbid.figures.plot_cmd`: a magnitude column missing, or nothing to draw.
    """
    from .cmd import _nothing_to_draw, _point_arrays, _system_label, cmd_data, parse_color

    blue, red = parse_color(color)
    points = cmd_data(table, (blue, red), red)
    if not points["drawable"].any():
        raise _nothing_to_draw(table, (blue, red, red), f"{red.lower()}_mag")
    names = ("colour", "mag", "colour_err", "mag_err", "flagged")
    arrays = dict(zip(names, _point_arrays(points[points["drawable"]]), strict=True))
    values = {"filters": [blue, red, red], "system": _system_label(table, (blue, red, red), system)}
    return "cmd", values, arrays


def _draw_cmd(values: Values, arrays: Arrays) -> Figure:
    from ._cmd_axes import FIGSIZE, draw_points, finish_axes
    from ._save import new_axes

    blue, red, mag = (str(f) for f in values["filters"])
    fig, ax = new_axes(None, figsize=FIGSIZE)
    flagged = np.asarray(arrays["flagged"], bool)
    draw_points(
        ax, arrays["colour"], arrays["mag"], arrays["colour_err"], arrays["mag_err"], flagged
    )
    finish_axes(
        ax, blue, red, mag, str(values["system"]), absolute=False, legend=bool(flagged.any())
    )
    return fig


KINDS: dict[str, Callable[[Values, Arrays], Figure]] = {
    "alignment": _draw_alignment,
    "cmd": _draw_cmd,
}
"""Figure kind -> ``draw(values, arrays) -> Figure``."""


def render(kind: str, values: Values, arrays: Arrays, path: str | os.PathLike) -> Path:
    """Draw the job and save it to ``path`` (format from the suffix; never replaces a file).

    Raises
    ------
    InputError
        An unknown ``kind`` or an unsupported suffix.
    OutputExistsError
        ``path`` exists.
    """
    draw = KINDS.get(kind)
    if draw is None:
        raise InputError(f"no figure kind {kind!r}; kinds: {', '.join(KINDS)}")
    return save_figure(draw(values, arrays), path, dpi=values.get("dpi"))


def encode_arrays(arrays: Mapping[str, np.ndarray]) -> str:
    """Numeric/bool arrays as base64 text of an ``.npz`` archive (see `decode_arrays`)."""
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def decode_arrays(text: str) -> Arrays:
    """The arrays of `encode_arrays`; an archive holding Python objects is refused.

    Raises
    ------
    ValueError
        Not base64 of an ``.npz`` archive, or an array of objects (it would need pickle).
    """
    with np.load(io.BytesIO(base64.b64decode(text, validate=True)), allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}
