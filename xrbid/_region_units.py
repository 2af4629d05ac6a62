"""Coordinate systems and the values of DS9 region parameters: numbers, sky and image
coordinates (degrees, sexagesimal, pixels), sizes in their units, angles."""

from __future__ import annotations

import math
import re

from ._region_table import _State
from .errors import RegionSyntaxError

__all__ = ["SKY_FRAMES"]

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
_UNPLACEABLE = ("physical", "detector", "amplifier", "linear", "tile")
_WCS_RE = re.compile(r"^wcs[a-z]?$")

_SIZE_UNITS = {'"': 1.0, "'": 60.0, "d": 3600.0, "": 3600.0, "r": math.degrees(1) * 3600.0}


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
