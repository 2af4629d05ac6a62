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
    # file line of each parsed line, when regions joined by ";" were put one per line
    line_map: np.ndarray | None = None

    def file_line(self, line: int) -> int:
        return line if self.line_map is None else int(self.line_map[line - 1])

    def error(self, line: int, message: str) -> RegionSyntaxError:
        return RegionSyntaxError(f"{self.source}, line {self.file_line(line)}: {message}")


def parse_region_text(text: str, *, pixel_origin: int = 0, source: str = "<string>"):
    """Parse DS9 region text into a `pandas.DataFrame` (see :data:`COLUMNS`).

    Regions joined by ``;`` on one line are first put one per line (keeping their file line
    numbers for the ``line`` column and for messages), so that every layout of the same
    regions takes the same path and the same time per region.
    """
    from ._region_fast import FastLines, fast_error, fast_rows

    text = text.removeprefix("\ufeff")  # a byte-order mark from some editors
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    state = _State(source=source, pixel_origin=pixel_origin)
    if ";" in text:
        text, state.line_map = _one_statement_per_line(text)
    fast = FastLines.find(text)
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
    errors = [e for e in (fast_error(p, fast.lines, state) for p in parts) if e is not None]
    if slow_error is not None:
        errors.append(slow_error)
    if errors:
        raise min(errors, key=lambda e: e[0])[1]
    return _assemble(state, [fast_rows(part, state) for part in parts])


def _one_statement_per_line(text: str) -> tuple[str, np.ndarray]:
    """Split the lines holding several ``;``-separated statements; the file line of each."""
    lines = text.split("\n")
    joined = [k for k, line in enumerate(lines) if ";" in line and not line.lstrip()[:1] == "#"]
    if not joined:
        return text, None
    out: list[str] = []
    numbers: list[np.ndarray] = []
    done = 0
    for k in joined:
        out.extend(lines[done:k])
        numbers.append(np.arange(done + 1, k + 1))
        parts = [p.strip() for p in _split_semicolons(lines[k])]
        out.extend(parts)
        numbers.append(np.full(len(parts), k + 1))
        done = k + 1
    out.extend(lines[done:])
    numbers.append(np.arange(done + 1, len(lines) + 1))
    return "\n".join(out), np.concatenate(numbers)


def _symbol(point: str | None) -> str:
    return point.split()[0].lower() if point else _DEFAULT_MARKER


_STR = pd.StringDtype("pyarrow", na_value=np.nan)
_STRING_COLUMNS = ("shape", "frame", "marker", "label", "color", "tag")
_OBJECT_COLUMNS = ("vertices", "params")


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


_SEPARATOR_RE = re.compile(_PROTECTED_RE.pattern + "|;")
_BRACES_RE = re.compile(r"\{[^}]*\}")
_QUOTED_VALUE_RE = re.compile(r"=\s*[\"']")


def _split_semicolons(line: str) -> list[str]:
    """The statements of a line, split at each ``;`` outside ``text={...}``-like values
    (linear in the length of the line)."""
    if ";" not in line:
        return [line]
    # the common case, a plain split, when no {...} or quoted value holds a ";" (both regular
    # expressions start with a literal, which the re module finds without trying each position)
    if not _QUOTED_VALUE_RE.search(line) and ";" not in "".join(_BRACES_RE.findall(line)):
        return line.split(";")
    parts, start = [], 0
    for m in _SEPARATOR_RE.finditer(line):
        if m.group(0) == ";":
            parts.append(line[start : m.start()])
            start = m.end()
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
        fields = (m.group(2), m.group(3), m.group(4))
        return _sexagesimal(v, m.group(1), fields, hours, is_lon, number, state)
    m = _LETTERS.match(low)
    if m:
        fields = (m.group(2), m.group(4), m.group(5))
        return _sexagesimal(v, m.group(1), fields, m.group(3) == "h", is_lon, number, state)
    if low.endswith("d"):
        return _number(low[:-1], number, state)
    if low.endswith("r"):
        return math.degrees(_number(low[:-1], number, state))
    if low[-1:] in ("i", "p"):
        raise state.error(
            number, f"pixel coordinate {v!r} in a {frame} region; the sky position is unknown"
        )
    return _number(low, number, state)


def _sexagesimal(
    v: str,
    sign: str,
    fields: tuple[str, str | None, str | None],
    hours: bool,
    is_lon: bool,
    number: int,
    state: _State,
) -> float:
    """Degrees of ``12:34:56.7`` / ``12h34m56.7s`` (hours when ``hours``), range-checked."""
    whole, minutes, seconds = (float(f) if f else 0.0 for f in fields)
    for name, part in (("minutes", minutes), ("seconds", seconds)):
        if part >= 60:
            raise state.error(number, f"{v!r}: {name} {part:g} outside 0..59")
    value = whole + minutes / 60 + seconds / 3600
    if hours:
        if sign == "-" or value >= 24:
            shown = -value if sign == "-" else value
            raise state.error(number, f"{v!r}: right ascension {shown:g}h outside 0h..24h")
        return value * 15.0
    if is_lon and (sign == "-" or value >= 360):
        raise state.error(number, f"{v!r}: a longitude must be 0..360 deg")
    return -value if sign == "-" else value


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
    _check_sizes(table, state)
    if state.line_map is not None:
        table["line"] = state.line_map[table["line"].to_numpy() - 1]
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


def _check_sizes(table: pd.DataFrame, state: _State) -> None:
    """Radii and sizes must not be negative (DS9 refuses them); name the first bad line."""
    sizes = table[list(_SIZE_COLUMNS)].to_numpy(dtype=float)
    bad = (sizes < 0).any(axis=1)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        column = _SIZE_COLUMNS[int(np.flatnonzero(sizes[k] < 0)[0])]
        value = sizes[k][sizes[k] < 0][0]
        unit = '"' if table["frame"].iat[k] != "image" else " pix"
        raise state.error(
            int(table["line"].iat[k]),
            f"{table['shape'].iat[k]} {column.replace('_', ' ')} {value:g}{unit} is negative; "
            "sizes must be >= 0",
        )


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
