"""DS9 shapes and their parameters: the values of one region (centre, sizes, angles,
vertices) as the cells of its table row."""

from __future__ import annotations

from ._region_table import _State
from ._region_units import _angle, _coordinate, _number, _size

__all__ = ["SHAPES"]

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
