"""Figures for papers: finder charts, colour–magnitude diagrams, the alignment plot.

Every drawing function takes ``ax=None`` (draws on the caller's axes when given, else on a new
figure) and returns the `~matplotlib.figure.Figure`; none switches the matplotlib backend.
`save_figure` writes a figure in the format its file suffix names, atomically, refusing to
replace an existing file unless asked.
"""

from __future__ import annotations

from .._lazy import lazy_dir, lazy_getattr
from ._save import FIGURE_FORMATS, check_figure_path, figure_format, save_figure

# imported on first use: the finder charts read images through xrbid.photometry (photutils),
# the CMD needs pandas; saving a plot, or a plotting process drawing the alignment, loads
# neither
_LAZY = {
    **dict.fromkeys(
        ["Stamp", "finder_chart", "finder_paths", "make_stamp", "write_finder_charts"], ".finder"
    ),
    **dict.fromkeys(["cmd_data", "model_tracks", "parse_color", "plot_cmd"], ".cmd"),
    **dict.fromkeys(["alignment_title", "plot_alignment"], ".alignment"),
}

__all__ = [
    "FIGURE_FORMATS",
    "Stamp",
    "alignment_title",
    "check_figure_path",
    "cmd_data",
    "figure_format",
    "finder_chart",
    "finder_paths",
    "make_stamp",
    "model_tracks",
    "parse_color",
    "plot_alignment",
    "plot_cmd",
    "save_figure",
    "write_finder_charts",
]


__getattr__ = lazy_getattr(__name__, _LAZY, globals())
__dir__ = lazy_dir(_LAZY, globals())
