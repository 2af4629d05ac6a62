"""The fast path of the DS9 region reader: the lines this package (and most catalogue scripts)
write, read without a Python loop over the lines.

* plain ``circle(ra,dec,r")`` / ``point(ra,dec)`` lines are found with one RE2 match over all
  lines (pyarrow) and their numbers read as CSV;
* lines with ``point``/``color``/``tag``/``text`` properties (in that order) are split into fields
  by one RE2 extraction.

Every other line goes through the general parser of :mod:`xrbid.region_parser`, which records
where the coordinate system and global properties change; the fast-path rows take the system
and defaults in force at their line from those records.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._region_table import _STR, _complete, _State
from ._region_units import _SIZE_UNITS, SKY_FRAMES, _frame_error
from .errors import RegionSyntaxError
from .region_parser import _DEFAULT_COLOR, _parse_line, _symbol

__all__ = ["FastLines", "fast_error", "fast_rows"]

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
# properties in the order this package writes them; DS9's own files put color before text too
_FAST_LINE = (
    r"^\s*(?P<ex>[-+]?)(?P<shape>circle|point)\(\s*(?P<a>" + _NUM + r")\s*,\s*(?P<b>" + _NUM + r")"
    r"\s*(?:,\s*(?P<r>" + _NUM + r")(?P<u>[\"'d]?)\s*)?\)\s*"
    r"(?:#\s*(?:point=(?P<pt>[a-z]+)(?: \d+)?\s*)?(?:color=(?P<col>#?[0-9A-Za-z]+)\s*)?"
    r"(?:tag=(?P<tag>\{[^{}]*\})\s*)?(?:text=(?P<txt>\{[^{}]*\})\s*)?)?$"
)


_PLAIN_NUM = r"-?\d+(?:\.\d*)?"
# exactly what this package writes without properties (DFA match, then CSV parsing)
_PLAIN_CIRCLE = rf"^circle\({_PLAIN_NUM},{_PLAIN_NUM},{_PLAIN_NUM}[\"'d]?\)\n$"
_PLAIN_POINT = rf"^point\({_PLAIN_NUM},{_PLAIN_NUM}\)\n$"


@dataclass
class _FastPart:
    """Fast-path regions: 0-based line indices and their fields (arrow arrays or numpy)."""

    index: np.ndarray
    shape: object  # arrow string array
    a: np.ndarray
    b: np.ndarray
    r: np.ndarray  # NaN for points
    unit: object  # arrow string array: '"', "'", "d" or ""
    exclude: np.ndarray
    props: dict | None = None  # arrow arrays "col", "pt", "tag", "txt" ("" = absent)


@dataclass
class FastLines:
    lines: object  # arrow array of all lines (each with its newline)
    is_fast: np.ndarray
    parts: list

    @classmethod
    def find(cls, text: str) -> FastLines | None:
        """Sort the lines of a long file into fast-path parts; None when not worth trying."""
        if text.count("\n", 0, 20_000) < 64 or "composite" in text:
            return None
        import pyarrow as pa
        import pyarrow.compute as pc

        if not text.endswith("\n"):
            text += "\n"
        lines = _arrow_lines(text)
        is_fast = np.zeros(len(lines), dtype=bool)
        parts = []
        for shape, pattern in (("circle", _PLAIN_CIRCLE), ("point", _PLAIN_POINT)):
            if shape + "(" not in text:
                continue
            plain = pc.match_substring_regex(lines, pattern).to_numpy(zero_copy_only=False)
            if plain.any():
                part = _plain_part(lines, plain, shape)
                if part is not None:
                    parts.append(part)
                    is_fast |= plain
        rest = np.flatnonzero(~is_fast)
        if rest.size:
            sub = lines.take(pa.array(rest))
            groups = pc.extract_regex(sub, _FAST_LINE)
            has_r = pc.not_equal(groups.field("r"), "")
            ok = pc.and_(
                groups.is_valid(), pc.equal(pc.equal(groups.field("shape"), "circle"), has_r)
            )
            ok = pc.fill_null(ok, False).to_numpy(zero_copy_only=False)
            if ok.any():
                parts.append(_regex_part(groups.filter(pa.array(ok)), rest[ok]))
                is_fast[rest[ok]] = True
        return cls(lines, is_fast, parts)


def _plain_part(lines, mask: np.ndarray, shape: str) -> _FastPart | None:
    """Plain lines: strip the shape name and brackets and read the numbers as CSV."""
    import io

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    sub = lines.filter(pa.array(mask))
    n = len(sub)
    offsets = np.frombuffer(sub.buffers()[1], dtype=np.int64)[sub.offset : sub.offset + n + 1]
    data = sub.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]]
    if shape == "circle":
        unit = pc.utf8_slice_codeunits(sub, -3, -2)  # the character before ")\n"
        unit = pc.if_else(pc.is_in(unit, pa.array(['"', "'", "d"])), unit, "")
        names = ["a", "b", "r"]
    else:
        unit = pa.repeat(pa.scalar("", pa.string()), n)
        names = ["a", "b"]
    # plain numbers hold only digits, "-", "." and ",": deleting the letters of the shape
    # name, the brackets and the unit marks leaves "a,b[,r]" lines
    data = data.translate(None, (shape + "()\"'d").encode())
    table = pcsv.read_csv(
        io.BytesIO(data),
        read_options=pcsv.ReadOptions(column_names=names, block_size=1 << 24, use_threads=False),
        parse_options=pcsv.ParseOptions(quote_char=False),
        convert_options=pcsv.ConvertOptions(column_types=dict.fromkeys(names, pa.float64())),
    )
    if table.num_rows != n:  # cannot happen for lines that matched; keep the regex path
        return None
    column = {name: table.column(name).to_numpy() for name in names}
    return _FastPart(
        index=np.flatnonzero(mask),
        shape=pa.repeat(pa.scalar(shape, pa.string()), n),
        a=column["a"],
        b=column["b"],
        r=column.get("r", np.full(n, np.nan)),
        unit=unit,
        exclude=np.zeros(n, dtype=bool),
    )


def _regex_part(g, index: np.ndarray) -> _FastPart:
    """Lines matched by :data:`_FAST_LINE` (properties allowed) from their regex groups."""
    import pyarrow as pa
    import pyarrow.compute as pc

    r = g.field("r")
    return _FastPart(
        index=index,
        shape=g.field("shape"),
        a=pc.cast(g.field("a"), pa.float64()).to_numpy(zero_copy_only=False),
        b=pc.cast(g.field("b"), pa.float64()).to_numpy(zero_copy_only=False),
        r=pc.cast(pc.if_else(pc.equal(r, ""), None, r), pa.float64()).to_numpy(
            zero_copy_only=False
        ),
        unit=g.field("u"),
        exclude=pc.equal(g.field("ex"), "-").to_numpy(zero_copy_only=False),
        props={k: g.field(k) for k in ("col", "pt", "tag", "txt")},
    )


def _arrow_lines(text: str):
    """The lines of ``text`` as an arrow string array, built on the text's UTF-8 bytes without
    making a Python object per line; each line keeps its trailing newline."""
    import pyarrow as pa

    data = text.encode("utf-8")
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    offsets = np.concatenate([[0], newlines + 1, [len(data)]]).astype(np.int64)
    return pa.LargeStringArray.from_buffers(
        len(offsets) - 1, pa.py_buffer(offsets), pa.py_buffer(data)
    )


def _frames_at(line_numbers: np.ndarray, state: _State) -> tuple[np.ndarray, list]:
    """Index into the list of systems in force at each line (0: none yet), and that list."""
    change_lines = np.asarray([ln for ln, _ in state.frame_changes], dtype=np.int64)
    pos = np.searchsorted(change_lines, line_numbers, side="right")
    return pos, [None] + [f for _, f in state.frame_changes]


def fast_error(part: _FastPart, lines, state: _State) -> tuple[int, Exception] | None:
    """The first line of ``part`` that is an error (its line number and the error), if any:
    a region in a system that cannot be placed, or an angular size on an image region."""
    import pyarrow.compute as pc

    line_numbers = part.index + 1
    found = []
    pos, frame_names = _frames_at(line_numbers, state)
    for k in np.unique(pos):
        frame = frame_names[k]
        if frame is None or frame not in (*SKY_FRAMES.values(), "image"):
            first = int(line_numbers[np.flatnonzero(pos == k)[0]])
            found.append((first, _frame_error(state, first, frame)))
    is_image = np.isin(pos, [k for k, f in enumerate(frame_names) if f == "image"])
    has_unit = pc.not_equal(part.unit, "").to_numpy(zero_copy_only=False)
    if (is_image & has_unit).any():
        first = int(line_numbers[np.flatnonzero(is_image & has_unit)[0]])
        scratch = _State(source=state.source, pixel_origin=state.pixel_origin, frame="image")
        try:  # the general parser's message for this line
            _parse_line(lines[first - 1].as_py(), first, scratch)
            error = state.error(first, "an image region has an angular size; give pixels")
        except RegionSyntaxError as exc:
            error = exc
        found.append((first, error))
    return min(found, key=lambda e: e[0]) if found else None


def fast_rows(part: _FastPart, state: _State) -> pd.DataFrame:
    """Table rows of fast-path regions (checked by :func:`_fast_error` first)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    line_numbers = part.index + 1
    n = len(line_numbers)

    # coordinate system and global properties in force at each line
    pos, frame_names = _frames_at(line_numbers, state)
    frames = pc.take(pa.array(frame_names, pa.string()), pa.array(pos))
    is_image = pc.equal(frames, "image").to_numpy(zero_copy_only=False)
    sky = ~is_image
    glines = np.asarray([ln for ln, _ in state.global_changes], dtype=np.int64)
    gpos = pa.array(np.searchsorted(glines, line_numbers, side="right"))
    globals_at = [{}] + [gl for _, gl in state.global_changes]
    default_color = pc.take(
        pa.array([gl.get("color", _DEFAULT_COLOR) for gl in globals_at], pa.string()), gpos
    )
    default_marker = pc.take(
        pa.array([_symbol(gl.get("point")) for gl in globals_at], pa.string()), gpos
    )
    excluded_by_global = np.asarray([not gl.get("include", True) for gl in globals_at], dtype=bool)[
        gpos.to_numpy()
    ]

    # sky sizes to arcsec; no unit on a sky size means degrees (DS9's rule)
    factor = np.select(
        [pc.equal(part.unit, s).to_numpy(zero_copy_only=False) for s in ('"', "'")],
        [_SIZE_UNITS['"'], _SIZE_UNITS["'"]],
        default=_SIZE_UNITS["d"],
    )
    radius = part.r * np.where(sky, factor, 1.0)
    is_point = pc.equal(part.shape, "point")

    color, marker = default_color, default_marker
    label = tag = pa.nulls(n, pa.string())
    if part.props is not None:
        # groups that did not take part come back as "" (not null); tag and text keep their
        # braces so that an empty text={} is told apart from no text
        color = pc.coalesce(_present(part.props["col"]), color)
        marker = pc.coalesce(_present(part.props["pt"]), marker)
        label = pc.utf8_slice_codeunits(_present(part.props["txt"]), 1, -1)
        tag = pc.utf8_slice_codeunits(_present(part.props["tag"]), 1, -1)
    marker = pc.if_else(is_point, marker, pa.scalar(None, pa.string()))

    offset = 1 - state.pixel_origin
    columns = {
        "shape": _strings(part.shape),
        "frame": _strings(frames),
        "ra": np.where(sky, part.a, np.nan),
        "dec": np.where(sky, part.b, np.nan),
        "x": np.where(is_image, part.a - offset, np.nan),
        "y": np.where(is_image, part.b - offset, np.nan),
        "radius": radius,
        "marker": _strings(marker),
        "label": _strings(label),
        "color": _strings(color),
        "tag": _strings(tag),
        "exclude": np.asarray(part.exclude, dtype=bool) | excluded_by_global,
        "line": line_numbers.astype(np.int64),
    }
    return _complete(columns, n)


def _strings(arrow_array) -> pd.Series:
    """An arrow string array as a pandas string Series (no per-element Python objects)."""
    return pd.Series(_STR.__from_arrow__(arrow_array))


def _present(values):
    """Null where an optional regex group did not match (it comes back as "")."""
    import pyarrow.compute as pc

    return pc.if_else(pc.equal(values, ""), None, values)
