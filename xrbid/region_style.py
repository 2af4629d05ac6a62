"""How DS9 regions look: the shared style (`RegionStyle`), point markers, colours and safe labels.

A label reaches DS9 inside ``text={...}``, in a file or in a command sent over XPA or SAMP; every
character that could end it, start a comment or a second region, or be substituted on the Tcl
path is refused or replaced here (`escape_label`, `BAD_LABEL_CHARACTERS`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from .errors import InputError
from .schema import require_columns

__all__ = ["BAD_LABEL_CHARACTERS", "MARKERS", "RegionStyle", "escape_label"]


MARKERS = ("circle", "box", "diamond", "cross", "x", "arrow", "boxcircle")
"""Point symbols DS9 draws (``point=<marker>``)."""


@dataclass(frozen=True)
class RegionStyle:
    """How the regions of a file look in DS9 (the properties they all share).

    Attributes
    ----------
    color : str, optional
        DS9 colour name (``hotpink``) or ``#rgb``/``#rrggbb`` (global line).
    width : int, optional
        Line width in screen pixels (>= 1).
    dash : bool
        Draw dashed outlines.
    font_size : int, optional
        Label font size in points.
    marker : {"circle", "box", "diamond", "cross", "x", "arrow", "boxcircle"}, optional
        Write ``point`` regions with this symbol instead of circles (no radius).
    marker_size : int, optional
        Point symbol size in screen pixels.
    tag : str, optional
        ``tag={...}`` added to every region (DS9 groups regions by tag).
    """

    color: str | None = None
    width: int | None = None
    dash: bool = False
    font_size: int | None = None
    marker: str | None = None
    marker_size: int | None = None
    tag: str | None = None

    def updated(self, **changes: Any) -> RegionStyle:
        """A copy with the given fields changed.

        Raises
        ------
        InputError
            If a name is not a field of `RegionStyle`.
        """
        unknown = sorted(set(changes) - {f.name for f in fields(self)})
        if unknown:
            raise InputError(
                f"unknown region option(s) {', '.join(unknown)}; the style options are "
                f"{', '.join(f.name for f in fields(self))}"
            )
        return replace(self, **changes) if changes else self


BAD_LABEL_CHARACTERS = "{}[]#;\"'\\$"
"""Characters a label may not contain, besides control characters (newline, tab, ...).

``{`` and ``}`` delimit DS9 text; ``#`` starts a comment; ``;`` and newlines start a new
region (in a file, and in a command sent over XPA or SAMP); quotes, backslash, ``$`` and
square brackets are quoting or substitution characters on the Tcl/XPA path into DS9.
"""


# control characters: C0, DEL, C1 (NEL \x85 ends a line for many readers), line/paragraph separators
_BAD_LABEL_RE = r"[{}\[\]#;\"'\\$\x00-\x1f\x7f-\x9f\u2028\u2029]"


_LABEL_REPLACEMENTS = str.maketrans(
    {
        "{": "(",
        "}": ")",
        "[": "(",
        "]": ")",
        **{c: "_" for c in "#;\"'\\$"},
        **{chr(i): " " for i in (*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029)},
    }
)


_COLOR_RE = re.compile(r"^(?:[A-Za-z]+|#(?:[0-9A-Fa-f]{3}){1,4})$")


def escape_label(label: str) -> str:
    """Return ``label`` with every character that could break a DS9 region line replaced.

    ``{`` and ``[`` become ``(``, ``}`` and ``]`` become ``)``; ``#``, ``;``, quotes,
    backslash and ``$`` become ``_``; control characters (newline, tab, ...) and the Unicode
    line and paragraph separators become a space.
    Anything else (letters, digits, ``+``, ``-``, ``.``, spaces, non-ASCII letters) is kept.

    Examples
    --------
    >>> escape_label("X-1 {ULX}; #2")
    'X-1 (ULX)_ _2'
    """
    return str(label).translate(_LABEL_REPLACEMENTS)


def _rows(df: pd.DataFrame, mask: np.ndarray, limit: int = 8) -> str:
    """Name the rows selected by ``mask``: 0-based positions, and source IDs when known."""
    pos = np.flatnonzero(mask)
    shown = ", ".join(str(p) for p in pos[:limit])
    more = f" and {len(pos) - limit} more" if len(pos) > limit else ""
    text = f"row{'s' if len(pos) > 1 else ''} {shown}{more} (0-based)"
    if "source_id" in df.columns:
        ids = ", ".join(repr(str(v)) for v in df["source_id"].to_numpy()[pos[:3]])
        text += f" [source_id {ids}{', ...' if len(pos) > 3 else ''}]"
    return text


def _check_label_text(text: str, what: str) -> None:
    if re.search(_BAD_LABEL_RE, text):
        raise InputError(
            f"{what} {text!r} contains characters DS9 cannot take ({BAD_LABEL_CHARACTERS} or "
            "control characters); choose another"
        )


def _labels(df: pd.DataFrame, column: str, on_bad_label: str) -> tuple[list[str], np.ndarray]:
    """The labels as a list of safe strings ("" where missing) and the missing-value mask."""
    require_columns(df, [column], what="labels")
    raw = df[column]
    missing = raw.isna().to_numpy()
    labels = ["" if m else str(v) for v, m in zip(raw.tolist(), missing.tolist())]
    # one C-level scan of all labels; the per-row search only runs when something is wrong
    joined = "\n".join(labels)
    if joined.count("\n") == len(labels) - 1 and not re.search(
        _BAD_LABEL_RE, joined.replace("\n", "")
    ):
        return labels, missing
    bad = np.array([re.search(_BAD_LABEL_RE, v) is not None for v in labels])
    if on_bad_label == "error":
        examples = ", ".join(repr(v) for v in np.asarray(labels, dtype=object)[bad][:3])
        raise InputError(
            f"labels in column {column!r} contain characters that would break the region "
            f"file ({BAD_LABEL_CHARACTERS} or control characters) in {_rows(df, bad)}: "
            f"{examples}; clean them or use on_bad_label='replace' (--on-bad-label replace)"
        )
    return [escape_label(v) if b else v for v, b in zip(labels, bad.tolist())], missing


def _color_column(df: pd.DataFrame, column: str) -> list[str]:
    require_columns(df, [column], what="per-row colours")
    values = df[column].astype(str)
    bad = ~values.str.fullmatch(_COLOR_RE.pattern).to_numpy(dtype=bool)
    if bad.any():
        raise InputError(
            f"colour column {column!r} has values DS9 does not know in {_rows(df, bad)}: "
            f"{values[bad].iloc[0]!r}; use colour names (red, hotpink) or #rrggbb"
        )
    return values.tolist()


def _global_line(color: str | None, width: int | None, dash: bool, font_size: int | None) -> str:
    if color is None:
        color = "green"
    if not _COLOR_RE.match(str(color)):
        raise InputError(
            f"colour {color!r} is not a DS9 colour; use a name (red, hotpink) or #rrggbb"
        )
    width = 1 if width is None else width
    if int(width) != width or width < 1:
        raise InputError(f"width must be a whole number of screen pixels >= 1, not {width!r}")
    size = 10 if font_size is None else font_size
    if int(size) != size or size < 1:
        raise InputError(f"font size must be a whole number of points >= 1, not {font_size!r}")
    return (
        f"global color={color} dashlist=8 3 width={int(width)} "
        f'font="helvetica {int(size)} normal roman" select=1 highlite=1 dash={int(bool(dash))} '
        "fixed=0 edit=1 move=1 delete=1 include=1 source=1"
    )
