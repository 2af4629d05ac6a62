"""The DS9 region-file grammar: text in, one table row per region out.

Two paths give the same rows:

* a vectorised fast path for the lines this package (and most catalogue scripts) write:
  plain ``circle(ra,dec,r")`` / ``point(ra,dec)`` lines are found with one RE2 match over all
  lines (pyarrow) and their numbers read as CSV; lines with ``point``/``color``/``tag``/``text``
  properties (in that order) are split into fields by one RE2 extraction;
* a general line parser for everything else DS9 writes: every shape, sexagesimal and unit
  suffixes, ``global`` lines, system lines, composite regions, ``# text(...)``-style commented
  shapes, exclusions, and several regions per line separated by ``;``.

The general parser records where the coordinate system and global properties change, so the
fast-path lines in between get the right system and defaults; errors of either path are
reported for the first bad line of the file.

Use it through :func:`xrbid.regions.read_regions` / :func:`xrbid.regions.parse_regions`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import RegionSyntaxError

__all__ = ["COLUMNS", "SHAPES", "SKY_FRAMES", "parse_region_text"]

COLUMNS = (
    "shape",
    "frame",
    "ra",
    "dec",
    "x",
    "y",
    "radius",
    "radius_outer",
    "semi_major",
    "semi_minor",
    "box_width",
    "box_height",
    "angle",
    "vertices",
    "params",
    "marker",
    "label",
    "color",
    "tag",
    "exclude",
    "line",
)
"""Columns of the table returned for a region file, in order."""

# DS9 name -> frame name kept in the table
SKY_FRAMES = {
    "fk5": "fk5",
    "j2000": "fk5",
    "icrs": "icrs",
    "fk4": "fk4",
    "b1950": "fk4",
    "galactic": "galactic",
    "ecliptic": "ecliptic",
}
_PASS_THROUGH = ("fk5", "icrs")  # written to ra/dec unchanged (they differ by < 0.03 arcsec)
_UNPLACEABLE = ("physical", "detector", "amplifier", "linear", "tile")
_WCS_RE = re.compile(r"^wcs[a-z]?$")

SHAPES = (
    "circle",
    "ellipse",
    "box",
    "polygon",
    "point",
    "line",
    "annulus",
    "text",
    "vector",
    "ruler",
    "compass",
    "projection",
    "segment",
    "panda",
    "epanda",
    "bpanda",
    "composite",
)
_POINT_MARKERS = ("circle", "box", "diamond", "cross", "x", "arrow", "boxcircle")
_COMMENTED_SHAPES = re.compile(
    r"^#\s*(text|composite|vector|ruler|compass|projection|segment)\s*\(", re.IGNORECASE
)
_DEFAULT_COLOR = "green"
_DEFAULT_MARKER = "boxcircle"

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
# properties in the order this package writes them; DS9's own files put color before text too
_FAST_LINE = (
    r"^\s*(?P<ex>[-+]?)(?P<shape>circle|point)\(\s*(?P<a>" + _NUM + r")\s*,\s*(?P<b>" + _NUM + r")"
    r"\s*(?:,\s*(?P<r>" + _NUM + r")(?P<u>[\"'d]?)\s*)?\)\s*"
    r"(?:#\s*(?:point=(?P<pt>[a-z]+)(?: \d+)?\s*)?(?:color=(?P<col>#?[0-9A-Za-z]+)\s*)?"
    r"(?:tag=(?P<tag>\{[^{}]*\})\s*)?(?:text=(?P<txt>\{[^{}]*\})\s*)?)?$"
)
_SIZE_UNITS = {'"': 1.0, "'": 60.0, "d": 3600.0, "": 3600.0, "r": math.degrees(1) * 3600.0}
_PROPERTY_RE = re.compile(r"([A-Za-z]+)\s*=\s*(\{[^}]*\}?|\"[^\"]*\"?|'[^']*'?|\S+)")
_PROTECTED_RE = re.compile(r"(?:text|tag|font)\s*=\s*(?:\{[^}]*\}|\"[^\"]*\"|'[^']*')|\{[^}]*\}")
_SHAPE_START = re.compile(r"^([+-]?)\s*([A-Za-z]+)(?:\s+(point))?\s*(\(|\s|$)")


@dataclass
class _State:
    source: str
    pixel_origin: int
    frame: str | None = None
    globals: dict = field(default_factory=dict)
    composite: dict | None = None
    # (line, frame) / (line, globals) change points, for the fast-path lines
    frame_changes: list = field(default_factory=list)
    global_changes: list = field(default_factory=list)
    rows: list = field(default_factory=list)

    def error(self, line: int, message: str) -> RegionSyntaxError:
        return RegionSyntaxError(f"{self.source}, line {line}: {message}")


def parse_region_text(text: str, *, pixel_origin: int = 0, source: str = "<string>"):
    """Parse DS9 region text into a `pandas.DataFrame` (see :data:`COLUMNS`)."""
    text = text.removeprefix("\ufeff")  # a byte-order mark from some editors
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    state = _State(source=source, pixel_origin=pixel_origin)
    fast = _FastLines.find(text)
    if fast is None:
        lines = text.split("\n")
        numbers = range(1, len(lines) + 1)
    else:
        slow_index = np.flatnonzero(~fast.is_fast)
        lines = fast.lines.take(slow_index).to_pylist()
        numbers = (slow_index + 1).tolist()
    slow_error = None
    for number, line in zip(numbers, lines):
        if line.strip():
            try:
                _parse_line(line, number, state)
            except RegionSyntaxError as exc:  # report the first bad line of either path
                slow_error = (number, exc)
                break
    parts = [] if fast is None else fast.parts
    errors = [e for e in (_fast_error(p, fast.lines, state) for p in parts) if e is not None]
    if slow_error is not None:
        errors.append(slow_error)
    if errors:
        raise min(errors, key=lambda e: e[0])[1]
    fast_rows = [_fast_rows(part, state) for part in parts]
    return _assemble(state, fast_rows)


# --------------------------------------------------------------------------------------------
# fast path
# --------------------------------------------------------------------------------------------

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
class _FastLines:
    lines: object  # arrow array of all lines (each with its newline)
    is_fast: np.ndarray
    parts: list

    @classmethod
    def find(cls, text: str) -> _FastLines | None:
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


def _fast_error(part: _FastPart, lines, state: _State) -> tuple[int, Exception] | None:
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


def _fast_rows(part: _FastPart, state: _State) -> pd.DataFrame:
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


def _symbol(point: str | None) -> str:
    return point.split()[0].lower() if point else _DEFAULT_MARKER


_STR = pd.StringDtype("pyarrow", na_value=np.nan)
_STRING_COLUMNS = ("shape", "frame", "marker", "label", "color", "tag")
_OBJECT_COLUMNS = ("vertices", "params")


def _strings(arrow_array) -> pd.Series:
    """An arrow string array as a pandas string Series (no per-element Python objects)."""
    return pd.Series(_STR.__from_arrow__(arrow_array))


def _complete(columns: dict, n: int) -> pd.DataFrame:
    """The table with every column of :data:`COLUMNS`, in order, missing ones filled empty."""
    full = {}
    for col in COLUMNS:
        if col in columns:
            full[col] = columns[col]
        elif col in _STRING_COLUMNS:
            full[col] = pd.Series(np.full(n, np.nan), dtype=_STR)
        elif col in _OBJECT_COLUMNS:
            full[col] = np.full(n, None, dtype=object)
        else:
            full[col] = np.full(n, np.nan)
    for col in _STRING_COLUMNS + _OBJECT_COLUMNS:
        if isinstance(full[col], pd.Series):
            full[col] = full[col].to_numpy() if col in _OBJECT_COLUMNS else full[col].array
    return pd.DataFrame(full)


def _present(values):
    """Null where an optional regex group did not match (it comes back as "")."""
    import pyarrow.compute as pc

    return pc.if_else(pc.equal(values, ""), None, values)


# --------------------------------------------------------------------------------------------
# general path
# --------------------------------------------------------------------------------------------


def _parse_line(line: str, number: int, state: _State) -> None:
    stripped = line.strip()
    if stripped.startswith("#"):
        if _COMMENTED_SHAPES.match(stripped):
            _parse_region(stripped.lstrip("#").strip(), number, state)
        elif re.match(r"#\s*Region file format:\s*CIAO", stripped, re.IGNORECASE):
            raise state.error(
                number,
                "this is a CIAO region file, not DS9; load it in DS9 and save it as a ds9 "
                "region file in fk5 or image coordinates",
            )
        return
    for part in _split_semicolons(stripped):
        part = part.strip()
        if part:
            _parse_statement(part, number, state)


def _split_semicolons(line: str) -> list[str]:
    if ";" not in line:
        return [line]
    protected = [m.span() for m in _PROTECTED_RE.finditer(line)]
    parts, start = [], 0
    for i, ch in enumerate(line):
        if ch == ";" and not any(a <= i < b for a, b in protected):
            parts.append(line[start:i])
            start = i + 1
    parts.append(line[start:])
    return parts


def _parse_statement(text: str, number: int, state: _State) -> None:
    if text.startswith("#"):
        if _COMMENTED_SHAPES.match(text):
            _parse_region(text.lstrip("#").strip(), number, state)
        return
    word = re.match(r"[A-Za-z0-9]+", text.lstrip("+-"))
    keyword = word.group(0).lower() if word else ""
    if keyword == "global":
        state.globals = {**state.globals, **_properties(text[len("global") :], number, state)}
        state.global_changes.append((number, dict(state.globals)))
        return
    bare = text.lower().split("#", 1)[0].strip()
    if bare in SKY_FRAMES or bare == "image" or bare in _UNPLACEABLE or _WCS_RE.match(bare):
        _set_frame(SKY_FRAMES.get(bare, bare), number, state)
        return
    _parse_region(text, number, state)


def _set_frame(frame: str, number: int, state: _State) -> None:
    state.frame = frame
    state.frame_changes.append((number, frame))


def _frame_error(state: _State, number: int, frame: str | None) -> RegionSyntaxError:
    if frame is None:
        return state.error(
            number,
            "region given before any coordinate system line (DS9 would read it in physical "
            "pixels); add a line 'fk5', 'icrs' or 'image' above it",
        )
    if _WCS_RE.match(frame):
        return state.error(
            number,
            f"'{frame}' means the image's own sky system, which the file does not name; save "
            "the regions from DS9 in fk5 or icrs",
        )
    return state.error(
        number,
        f"regions in {frame} coordinates cannot be placed on the sky or the image without "
        "the image header; save them from DS9 in fk5, icrs or image coordinates",
    )


def _parse_region(text: str, number: int, state: _State) -> None:
    m = _SHAPE_START.match(text)
    if m is None:
        raise state.error(number, f"cannot read {text[:60]!r}; expected a shape like circle(...)")
    sign, shape, point_suffix, opener = m.group(1), m.group(2).lower(), m.group(3), m.group(4)
    marker_from_shape = None
    if point_suffix:  # old-style "circle point(...)"
        if shape not in _POINT_MARKERS:
            raise state.error(number, f"unknown point symbol {shape!r}")
        marker_from_shape, shape = shape, "point"
    if shape not in SHAPES:
        if shape in SKY_FRAMES or shape == "image" or shape in _UNPLACEABLE:
            raise state.error(number, f"unexpected text after the system {shape!r}")
        raise state.error(
            number, f"unknown shape or keyword {shape!r}; DS9 shapes are {', '.join(SHAPES)}"
        )
    rest = text[m.end() :] if opener == "(" else text[m.end(3 if point_suffix else 2) :]
    if opener == "(":
        close = _closing_paren(rest)
        if close < 0:
            raise state.error(number, f"missing ')' in {text[:60]!r}")
        params_text, tail = rest[:close], rest[close + 1 :]
    else:
        params_text, _, tail = rest.partition("#")
        tail = "#" + tail if tail else ""
    tail = tail.strip()
    continues = tail.startswith("||")
    if continues:
        tail = tail[2:].strip()
    if tail.startswith("#"):
        tail = tail[1:]
    props = _properties(tail, number, state)

    inline_text = None
    if shape == "text" and "{" in params_text:
        params_text, _, inline = params_text.partition("{")
        inline_text = inline.rsplit("}", 1)[0]
    params = [p for p in re.split(r"[\s,]+", params_text.strip()) if p]

    if shape == "composite":
        props.pop("composite", None)
        state.composite = props
        return

    frame = state.frame
    if frame is None or frame not in (*SKY_FRAMES.values(), "image"):
        raise _frame_error(state, number, frame)
    inherited = {**state.globals, **(state.composite or {})}
    if state.composite is not None and not continues:
        state.composite = None

    row = _shape_row(shape, params, frame, number, state)
    row["shape"] = shape
    row["frame"] = frame
    row["line"] = number
    # the line's own include= wins, then its sign, then a global include=
    if "include" in props:
        exclude = not props["include"]
    else:
        exclude = sign == "-" or not inherited.get("include", True)
    row["exclude"] = exclude
    row["color"] = props.get("color", inherited.get("color", _DEFAULT_COLOR))
    label = props.get("text", inline_text)
    row["label"] = label
    tags = props.get("tag")
    row["tag"] = ";".join(tags) if tags else None
    if shape == "point":
        symbol = props.get("point", inherited.get("point", marker_from_shape or _DEFAULT_MARKER))
        row["marker"] = symbol.split()[0].lower() if symbol else _DEFAULT_MARKER
    state.rows.append(row)


def _closing_paren(text: str) -> int:
    depth = 0
    for i, ch in enumerate(text):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == ")" and depth <= 0:
            return i
    return -1


_CLOSING = {"{": "}", '"': '"', "'": "'"}


def _properties(text: str, number: int, state: _State) -> dict:
    """Parse ``key=value`` properties; ``tag`` may repeat and is kept as a list."""
    props: dict = {}
    for key, value in _PROPERTY_RE.findall(text):
        key = key.lower()
        if value[:1] in _CLOSING:
            if len(value) < 2 or value[-1] != _CLOSING[value[0]]:
                raise state.error(
                    number, f"{key}= opens with {value[0]} but is never closed: {value[:40]!r}"
                )
            value = value[1:-1]
        elif key == "point":  # "point=circle 11": keep the symbol
            value = value.lower()
        if key in _BOOLEAN_PROPERTIES:
            value = _ds9_boolean(key, value, number, state)
        if key == "tag":
            props.setdefault("tag", []).append(value)
        elif key not in props:
            props[key] = value
    return props


# DS9's yes/no properties and the spellings its grammar reads for them (any case); an integer
# is true when it is not 0
_BOOLEAN_PROPERTIES = frozenset(
    (
        "include",
        "source",
        "background",
        "select",
        "highlite",
        "dash",
        "fixed",
        "edit",
        "move",
        "rotate",
        "delete",
        "fill",
    )
)
_TRUE = frozenset(("yes", "y", "true", "on"))
_FALSE = frozenset(("no", "n", "false", "off"))


def _ds9_boolean(key: str, value: str, number: int, state: _State) -> bool:
    low = value.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    if re.fullmatch(r"[-+]?\d+", low):
        return int(low) != 0
    raise state.error(
        number, f"{key}={value!r} is not a yes/no value; use 1/0, yes/no, true/false or on/off"
    )


# parameter kinds per shape: c = coordinate pair, s = size, a = angle, n = count
_LAYOUTS = {
    "circle": ("cc", "s"),
    "point": ("cc", ""),
    "text": ("cc", ""),
    "vector": ("cc", "sa"),
    "compass": ("cc", "s"),
    "panda": ("cc", "aanssn"),
    "epanda": ("cc", "aanssssna"),
    "bpanda": ("cc", "aanssssna"),
}


def _shape_row(shape: str, params: list[str], frame: str, number: int, state: _State) -> dict:
    sky = frame != "image"
    row: dict = {}

    def coord(values: list[str]) -> list[float]:
        out = []
        for k, v in enumerate(values):
            out.append(_coordinate(v, k % 2 == 0, frame, number, state))
        return out

    def size(v: str) -> float:
        return _size(v, sky, number, state)

    def angle(v: str) -> float:
        return _angle(v, number, state)

    def need(count_ok: bool, expected: str) -> None:
        if not count_ok:
            raise state.error(
                number, f"{shape} takes {expected}, got {len(params)} value(s): {params}"
            )

    if shape in ("polygon", "segment"):
        least = 3 if shape == "polygon" else 2
        need(len(params) >= 2 * least and len(params) % 2 == 0, f"at least {least} x,y vertices")
        verts = coord(params)
        _set_position(row, verts[0], verts[1], sky, state)
        row["vertices"] = verts
        return row
    if shape in ("line", "ruler", "projection"):
        extra = 1 if shape == "projection" else 0
        need(len(params) == 4 + extra, "two x,y end points" + (" and a width" if extra else ""))
        verts = coord(params[:4])
        _set_position(row, verts[0], verts[1], sky, state)
        row["vertices"] = verts
        if extra:
            row["params"] = (size(params[4]),)
        return row

    need(len(params) >= 2, "a centre x,y")
    centre = coord(params[:2])
    _set_position(row, centre[0], centre[1], sky, state)
    rest = params[2:]
    if shape == "circle":
        need(len(rest) == 1, "a centre and a radius")
        row["radius"] = size(rest[0])
    elif shape == "annulus":
        need(len(rest) >= 2, "a centre and at least two radii")
        radii = [size(v) for v in rest]
        row["radius"], row["radius_outer"] = radii[0], radii[-1]
        row["params"] = tuple(radii)
    elif shape in ("ellipse", "box"):
        need(len(rest) >= 2, "a centre, two sizes and an angle")
        if len(rest) % 2 == 1:
            sizes, ang = rest[:-1], angle(rest[-1])
        else:
            sizes, ang = rest, 0.0
        values = [size(v) for v in sizes]
        row["angle"] = ang
        if shape == "ellipse":
            row["semi_major"], row["semi_minor"] = values[0], values[1]
        else:
            row["box_width"], row["box_height"] = values[0], values[1]
        if len(values) > 2:  # annulus form: all sizes, inner to outer
            row["params"] = tuple(values)
    elif shape in _LAYOUTS:
        kinds = _LAYOUTS[shape][1]
        need(len(rest) == len(kinds), f"a centre and {len(kinds)} more value(s)")
        converted = []
        for kind, v in zip(kinds, rest):
            if kind == "s":
                converted.append(size(v))
            elif kind == "a":
                converted.append(angle(v))
            else:
                converted.append(_number(v, number, state))
        if converted:
            row["params"] = tuple(converted)
        if shape in ("vector", "compass"):
            row["radius"] = converted[0]
        if shape == "vector":
            row["angle"] = converted[1]
    return row


def _set_position(row: dict, a: float, b: float, sky: bool, state: _State) -> None:
    if sky:
        row["ra"], row["dec"] = a, b
    else:
        row["x"], row["y"] = a, b


def _number(v: str, number: int, state: _State) -> float:
    try:
        value = float(v)
    except ValueError:
        raise state.error(number, f"{v!r} is not a number") from None
    if not math.isfinite(value):  # DS9 calls nan/inf a syntax error; the writer refuses them
        raise state.error(number, f"{v!r} is not a finite number; give the value or drop the line")
    return value


_SEXAGESIMAL = re.compile(r"^([-+]?)(\d+(?:\.\d*)?):(\d+(?:\.\d*)?)(?::(\d+(?:\.\d*)?))?$")
_LETTERS = re.compile(
    r"^([-+]?)(\d+(?:\.\d*)?)([hd])(?:(\d+(?:\.\d*)?)m)?(?:(\d+(?:\.\d*)?)s)?$", re.IGNORECASE
)


def _coordinate(v: str, is_lon: bool, frame: str, number: int, state: _State) -> float:
    """One coordinate: degrees for sky frames, pixels (shifted to ``pixel_origin``) for image."""
    low = v.lower()
    if frame == "image":
        if low.endswith("i"):
            low = low[:-1]
        elif low[-1:] in ("p", "d", "r", '"', "'") or ":" in low:
            raise state.error(number, f"image coordinate {v!r} must be a plain pixel value")
        return _number(low, number, state) - (1 - state.pixel_origin)
    hours = is_lon and frame not in ("galactic", "ecliptic")
    m = _SEXAGESIMAL.match(low)
    if m:
        sign = -1.0 if m.group(1) == "-" else 1.0
        value = float(m.group(2)) + float(m.group(3)) / 60 + float(m.group(4) or 0) / 3600
        return sign * value * (15.0 if hours else 1.0)
    m = _LETTERS.match(low)
    if m:
        sign = -1.0 if m.group(1) == "-" else 1.0
        value = float(m.group(2)) + float(m.group(4) or 0) / 60 + float(m.group(5) or 0) / 3600
        return sign * value * (15.0 if m.group(3) == "h" else 1.0)
    if low.endswith("d"):
        return _number(low[:-1], number, state)
    if low.endswith("r"):
        return math.degrees(_number(low[:-1], number, state))
    if low[-1:] in ("i", "p"):
        raise state.error(
            number, f"pixel coordinate {v!r} in a {frame} region; the sky position is unknown"
        )
    return _number(low, number, state)


def _size(v: str, sky: bool, number: int, state: _State) -> float:
    """A size: arcsec for sky frames, pixels for image."""
    low = v.lower()
    suffix = low[-1:] if low[-1:] in ('"', "'", "d", "r", "i", "p") else ""
    value = _number(low[: len(low) - len(suffix)], number, state)
    if not sky:
        if suffix in ("", "i"):
            return value
        raise state.error(number, f"image region size {v!r} must be in pixels")
    if suffix in ("i", "p"):
        raise state.error(
            number, f'size {v!r} is in pixels but the region is on the sky; give arcsec (")'
        )
    return value * _SIZE_UNITS[suffix]


def _angle(v: str, number: int, state: _State) -> float:
    low = v.lower()
    if low.endswith("r"):
        return math.degrees(_number(low[:-1], number, state))
    if low.endswith("d"):
        low = low[:-1]
    return _number(low, number, state)


# --------------------------------------------------------------------------------------------
# assembling the table
# --------------------------------------------------------------------------------------------


def _assemble(state: _State, fast_rows: list[pd.DataFrame]) -> pd.DataFrame:
    slow = _slow_rows(state.rows) if state.rows else None
    parts = [p for p in (slow, *fast_rows) if p is not None and len(p)]
    if not parts:
        empty = _complete({}, 0)
        empty.attrs["units"] = _units(empty)
        return empty
    if len(parts) == 1:
        table = parts[0]
    else:
        table = pd.concat(parts, ignore_index=True)
        table = table.iloc[np.argsort(table["line"].to_numpy(), kind="stable")]
        table = table.reset_index(drop=True)
    _check_latitudes(table, state)
    _to_icrs(table)
    table.attrs["units"] = _units(table)
    return table


_SIZE_COLUMNS = ("radius", "radius_outer", "semi_major", "semi_minor", "box_width", "box_height")


def _units(table: pd.DataFrame) -> dict[str, str]:
    """Column units (for writers that keep them): sizes are arcsec on the sky, pixels on the
    image, and have no single unit when a file mixes the two."""
    units = {"ra": "deg", "dec": "deg", "x": "pix", "y": "pix", "angle": "deg"}
    is_image = (table["frame"] == "image").to_numpy(dtype=bool)
    size_unit = "pix" if is_image.all() else "arcsec" if not is_image.any() else None
    if size_unit:
        units.update(dict.fromkeys(_SIZE_COLUMNS, size_unit))
    return units


def _slow_rows(rows: list[dict]) -> pd.DataFrame:
    n = len(rows)
    columns: dict = {}
    for col in COLUMNS:
        values = [row.get(col) for row in rows]
        if all(v is None for v in values):
            continue
        if col in _STRING_COLUMNS:
            columns[col] = pd.Series(values, dtype=object).astype(_STR).array
        elif col in _OBJECT_COLUMNS:
            out = np.empty(n, dtype=object)
            out[:] = [tuple(v) if v is not None else None for v in values]
            columns[col] = out
        elif col == "exclude":
            columns[col] = np.array(values, dtype=bool)
        elif col == "line":
            columns[col] = np.array(values, dtype=np.int64)
        else:
            columns[col] = np.array([np.nan if v is None else v for v in values], dtype=float)
    return _complete(columns, n)


def _check_latitudes(table: pd.DataFrame, state: _State) -> None:
    """Sky latitudes (dec, b, beta) must lie within -90..+90 deg; name the first bad line."""
    lat = table["dec"].to_numpy()
    bad = np.abs(lat) > 90
    verts = table["vertices"].to_numpy(dtype=object)
    sky = (table["frame"] != "image").to_numpy(dtype=bool)
    for k in np.flatnonzero(sky & pd.notna(verts)):
        if np.any(np.abs(np.asarray(verts[k][1::2], dtype=float)) > 90):
            bad[k] = True
    if bad.any():
        line = int(table["line"].to_numpy()[bad].min())
        raise state.error(line, "a latitude (dec) outside -90..+90 deg; is it in degrees?")


def _to_icrs(table: pd.DataFrame) -> None:
    """Convert positions and vertices given in galactic, fk4 or ecliptic to ICRS degrees."""
    frames = table["frame"].to_numpy(dtype=object)
    convert = ~np.isin(frames, [*_PASS_THROUGH, "image"])
    if not convert.any():
        return
    from astropy import units as u
    from astropy.coordinates import FK4, BarycentricMeanEcliptic, Galactic, SkyCoord

    astropy_frames = {"galactic": Galactic(), "fk4": FK4(), "ecliptic": BarycentricMeanEcliptic()}
    for name, astro in astropy_frames.items():
        rows = np.flatnonzero(frames == name)
        if rows.size == 0:
            continue
        lon = table["ra"].to_numpy()[rows]
        lat = table["dec"].to_numpy()[rows]
        icrs = SkyCoord(lon * u.deg, lat * u.deg, frame=astro).icrs
        table.loc[table.index[rows], "ra"] = icrs.ra.deg
        table.loc[table.index[rows], "dec"] = icrs.dec.deg
        verts = table["vertices"].to_numpy(dtype=object)[rows]
        have = [k for k, v in enumerate(verts) if v is not None]
        if have:
            flat = np.concatenate([np.asarray(verts[k], dtype=float) for k in have])
            sc = SkyCoord(flat[0::2] * u.deg, flat[1::2] * u.deg, frame=astro).icrs
            pairs = np.column_stack([sc.ra.deg, sc.dec.deg]).ravel()
            start = 0
            col = table.columns.get_loc("vertices")
            for k in have:
                m = len(verts[k])
                table.iat[rows[k], col] = tuple(pairs[start : start + m].tolist())
                start += m
