"""The DS9 region-file grammar: text in, one table row per region out.

Two paths give the same rows:

* a vectorised fast path for the lines this package (and most catalogue scripts) write:
  plain ``circle(ra,dec,r")`` / ``point(ra,dec)`` lines are found with one RE2 match over all
  lines (pyarrow) and their numbers read as CSV; lines with ``point``/``color``/``tag``/``text``
  properties (in that order) are split into fields by one RE2 extraction
  (:mod:`xrbid._region_fast`);
* a general line parser for everything else DS9 writes: every shape, sexagesimal and unit
  suffixes, ``global`` lines, system lines, composite regions, ``# text(...)``-style commented
  shapes, exclusions, and several regions per line separated by ``;``.

The general parser records where the coordinate system and global properties change, so the
fast-path lines in between get the right system and defaults; errors of either path are
reported for the first bad line of the file.

This module holds the grammar (lines, statements, properties); the values of a region's
parameters (coordinates, sizes, angles and their units, the coordinate systems) are read by
:mod:`xrbid._region_units`, a shape's parameters become table cells in
:mod:`xrbid._region_shapes`, and :mod:`xrbid._region_table` assembles the table.

Use it through :func:`xrbid.regions.read_regions` / :func:`xrbid.regions.parse_regions`.
"""

from __future__ import annotations

import re

import numpy as np

from ._region_shapes import SHAPES, _shape_row
from ._region_table import COLUMNS, _assemble, _State
from ._region_units import _UNPLACEABLE, _WCS_RE, SKY_FRAMES, _frame_error
from .errors import RegionSyntaxError

__all__ = ["COLUMNS", "SHAPES", "SKY_FRAMES", "parse_region_text"]

_POINT_MARKERS = ("circle", "box", "diamond", "cross", "x", "arrow", "boxcircle")
_COMMENTED_SHAPES = re.compile(
    r"^#\s*(text|composite|vector|ruler|compass|projection|segment)\s*\(", re.IGNORECASE
)
_DEFAULT_COLOR = "green"
_DEFAULT_MARKER = "boxcircle"

_PROPERTY_RE = re.compile(r"([A-Za-z]+)\s*=\s*(\{[^}]*\}?|\"[^\"]*\"?|'[^']*'?|\S+)")
_PROTECTED_RE = re.compile(r"(?:text|tag|font)\s*=\s*(?:\{[^}]*\}|\"[^\"]*\"|'[^']*')|\{[^}]*\}")
_SHAPE_START = re.compile(r"^([+-]?)\s*([A-Za-z]+)(?:\s+(point))?\s*(\(|\s|$)")


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
