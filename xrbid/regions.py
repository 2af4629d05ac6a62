"""DS9 region files: write a table as circles or points, read any DS9 file back into a table.

Writing (:func:`format_regions`, :func:`write_regions`) produces DS9 version 4.1 files with an
explicit coordinate system line, full-precision coordinates, radii in the unit asked for, and
labels that can never break the file or smuggle a second command into DS9 (the style and the
label rules live in :mod:`xrbid.region_style`). The whole table is
formatted at once (one C-level ``%`` over a repeated line template per block of rows): over a
million regions per second.

Reading (:func:`read_regions`, :func:`parse_regions`) accepts what DS9 writes (every shape,
sky and image systems, sexagesimal or degrees, comments, properties, exclusions, several regions
per line) and returns one table row per region. The grammar lives in
:mod:`xrbid.region_parser`.

Conventions
-----------
* Sky positions are degrees; sky sizes (radii, box sides, ...) are arcsec in tables, whatever
  unit the file uses.
* Image positions: ``x``, ``y`` columns are 0-based pixel coordinates, as used by numpy and
  photutils (the centre of the first pixel is 0). DS9 counts from 1, so 1 is added on writing
  and subtracted on reading. Pass ``pixel_origin=1`` when a table already holds DS9/FITS
  1-based values. Image sizes are pixels.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._io import atomic_output, check_output, reading
from ._version import __version__
from .errors import InputError
from .region_style import (
    BAD_LABEL_CHARACTERS,
    MARKERS,
    RegionStyle,
    _check_label_text,
    _color_column,
    _global_line,
    _labels,
    _rows,
    escape_label,
)
from .schema import numeric_column, require_columns

__all__ = [
    "BAD_LABEL_CHARACTERS",
    "DS9_HEADER",
    "MARKERS",
    "RegionStyle",
    "escape_label",
    "format_regions",
    "parse_regions",
    "read_regions",
    "write_regions",
]

DS9_HEADER = "# Region file format: DS9 version 4.1"

_SKY_SYSTEMS = ("fk5", "icrs")
_SYSTEMS = (*_SKY_SYSTEMS, "image")
# unit name -> (factor from arcsec, suffix DS9 reads)
_SKY_UNITS = {"arcsec": (1.0, '"'), "arcmin": (1 / 60, "'"), "deg": (1 / 3600, "d")}
_UNIT_ALIASES = {
    "arcsec": "arcsec",
    '"': "arcsec",
    "arcmin": "arcmin",
    "'": "arcmin",
    "deg": "deg",
    "degree": "deg",
    "degrees": "deg",
    "d": "deg",
    "pixel": "pixel",
    "pix": "pixel",
    "pixels": "pixel",
}


# --------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------


def format_regions(
    df: pd.DataFrame,
    *,
    radius: Any = None,
    radius_column: str | None = None,
    unit: str | None = None,
    system: Literal["fk5", "icrs", "image"] = "fk5",
    color_column: str | None = None,
    label_column: str | None = None,
    on_bad_label: Literal["error", "replace"] = "error",
    pixel_origin: int = 0,
    style: RegionStyle | None = None,
    **style_options: Any,
) -> str:
    """Format a table as the text of a DS9 version 4.1 region file.

    Each row becomes one ``circle(...)`` (or, with ``marker``, one ``point(...)``). The file
    starts with the DS9 header, a ``global`` line carrying the common properties (colour,
    width, font, dash) and the coordinate-system line; the system is the one asked for, never
    guessed from the columns.

    Parameters
    ----------
    df : pandas.DataFrame
        The table (an `astropy.table.Table` is converted). Sky systems need ``ra`` and
        ``dec`` in degrees; ``system="image"`` needs ``x`` and ``y`` in pixels.
    radius : float or astropy.units.Quantity, optional
        One radius for every circle: arcsec for sky systems (or any angle Quantity), pixels
        for ``system="image"``.
    radius_column : str, optional
        Column holding a radius per row (arcsec for sky systems, e.g. ``pu_2sigma``; pixels
        for image). Give exactly one of ``radius``/``radius_column`` unless ``marker`` is set.
    unit : {"arcsec", "arcmin", "deg"}, optional
        Unit the radii are *written* in (``1.2"``, ``0.02'``, ``0.0003d``); default arcsec.
        Image regions are always written in pixels.
    system : {"fk5", "icrs", "image"}
        Coordinate system line of the file. ``fk5``/``icrs`` write ``ra``/``dec`` unchanged
        (degrees, 10 decimals = 3.6e-7 arcsec); ``image`` writes DS9 1-based pixels.
    color_column : str, optional
        Column with a colour per row (overrides the style's ``color`` for that row).
    label_column : str, optional
        Column whose value is written as ``text={...}`` (e.g. ``source_id``). Missing values
        get no label.
    on_bad_label : {"error", "replace"}
        What to do with labels containing characters that could break the line (see
        :data:`BAD_LABEL_CHARACTERS`): raise `InputError` naming the rows, or replace the
        characters as :func:`escape_label` does.
    pixel_origin : {0, 1}
        Whether ``x``/``y`` are 0-based (numpy, photutils; default) or already DS9 1-based.
    style : RegionStyle, optional
        Colour, width, dash, font size, marker and tag of every region.
    **style_options
        Fields of `RegionStyle` given one by one (``color="hotpink", width=2``); they change
        those of ``style``.

    Returns
    -------
    str
        The region file text, ending with a newline.

    Raises
    ------
    ColumnError
        A needed column is missing.
    InputError
        Empty table, NaN or infinite coordinates or radii (the rows are named), non-positive
        radii, bad colours, bad labels with ``on_bad_label="error"``, contradictory options.

    Examples
    --------
    >>> df = pd.DataFrame({"source_id": ["2CXO J140251.0+542420"], "ra": [210.71271],
    ...                    "dec": [54.40558], "pu_2sigma": [1.31]})
    >>> print(format_regions(df, radius_column="pu_2sigma", label_column="source_id",
    ...                      color="hotpink", width=2))  # doctest: +ELLIPSIS
    # Region file format: DS9 version 4.1
    # ...
    global color=hotpink dashlist=8 3 width=2 font="helvetica 10 normal roman" ...
    fk5
    circle(210.7127100000,54.4055800000,1.31") # text={2CXO J140251.0+542420}
    <BLANKLINE>
    """
    style = (style or RegionStyle()).updated(**style_options)
    color, width, dash, font_size = style.color, style.width, style.dash, style.font_size
    marker, marker_size, tag = style.marker, style.marker_size, style.tag
    df = _as_dataframe(df)
    if len(df) == 0:
        raise InputError("the table has no rows; there are no regions to write")
    if system not in _SYSTEMS:
        raise InputError(f"unknown region system {system!r}; use one of {', '.join(_SYSTEMS)}")
    is_image = system == "image"
    unit_name = _resolve_unit(unit, is_image)
    if pixel_origin not in (0, 1):
        raise InputError(f"pixel_origin must be 0 or 1, not {pixel_origin!r}")
    if on_bad_label not in ("error", "replace"):
        raise InputError(f"on_bad_label must be 'error' or 'replace', not {on_bad_label!r}")

    lon_name, lat_name = ("x", "y") if is_image else ("ra", "dec")
    require_columns(df, [lon_name, lat_name], what=f"{system} regions")
    lon = numeric_column(df, lon_name)
    lat = numeric_column(df, lat_name)
    _check_finite(df, lon, lon_name)
    _check_finite(df, lat, lat_name)
    if is_image:
        if pixel_origin == 0:
            lon = lon + 1.0
            lat = lat + 1.0
    else:
        outside = np.abs(lat) > 90
        if outside.any():
            raise InputError(
                f"dec outside -90..+90 deg in {_rows(df, outside)}; is the column in degrees?"
            )
        outside = (lon < 0) | (lon >= 360)
        if outside.any():
            raise InputError(
                f"ra {lon[outside][0]:g} outside 0 <= ra < 360 deg in {_rows(df, outside)}; "
                "is the column in degrees?"
            )

    if marker is not None and marker not in MARKERS:
        raise InputError(f"unknown marker {marker!r}; use one of {', '.join(MARKERS)}")
    sizes = _radii(df, radius, radius_column, marker, is_image)

    if marker_size is not None and (int(marker_size) != marker_size or marker_size < 1):
        raise InputError(f"marker size must be a whole number of pixels >= 1, not {marker_size!r}")
    header = "\n".join(
        [
            DS9_HEADER,
            f"# Written by xrbid {__version__}: {len(df)} {'points' if marker else 'circles'}",
            _global_line(color, width, dash, font_size),
            system,
            "",
        ]
    )

    # properties after " # ": constants go into the line template, per-row values into %s slots
    pieces: list[str] = []
    slots: list[Any] = []
    if marker is not None:
        size = "" if marker_size is None else f" {int(marker_size)}"
        pieces.append(f"point={marker}{size}")
    if color_column is not None:
        pieces.append("color=%s")
        slots.append(_color_column(df, color_column))
    if tag is not None:
        _check_label_text(str(tag), "tag")
        pieces.append(_percent(f"tag={{{tag}}}"))
    label_slot = ""
    if label_column is not None:
        labels, missing = _labels(df, label_column, on_bad_label)
        if missing.any():  # the slot holds " text={...}" or nothing
            label_slot = "%s"
            slots.append(["" if m else f" text={{{v}}}" for v, m in zip(labels, missing.tolist())])
        else:
            pieces.append("text={%s}")
            slots.append(labels)
    if pieces:
        suffix = " # " + " ".join(pieces) + label_slot
    elif label_slot:  # labels only, some missing: the " # " goes into the slot too
        suffix = "%s"
        slots[-1] = [f" #{v}" if v else "" for v in slots[-1]]
    else:
        suffix = ""

    coord_fmt = _number_format(np.concatenate([lon, lat]), 12) if is_image else "%.10f"
    if marker is None:
        factor, mark = (1.0, "") if is_image else _SKY_UNITS[unit_name]
        sizes = sizes * factor
        line = f"circle({coord_fmt},{coord_fmt},{_number_format(sizes, 10)}{_percent(mark)})"
        columns: list[Any] = [lon, lat, sizes]
    else:
        line = f"point({coord_fmt},{coord_fmt})"
        columns = [lon, lat]
    return "".join([header, *_format_rows(line + suffix + "\n", columns + slots)])


def write_regions(
    df: pd.DataFrame, path: str | os.PathLike, *, overwrite: bool = False, **options: Any
) -> Path:
    """Write a table as a DS9 version 4.1 region file (atomically).

    Parameters
    ----------
    df : pandas.DataFrame
        The table; see :func:`format_regions`.
    path : str or os.PathLike
        Output file (``.reg``).
    overwrite : bool
        Replace ``path`` if it exists; otherwise an existing file raises `OutputExistsError`.
    **options
        Any keyword of :func:`format_regions` (``radius``, ``radius_column``, ``unit``,
        ``system``, ``label_column``, ``style``, ...) or field of `RegionStyle` (``color``,
        ``width``, ``dash``, ``font_size``, ``marker``, ``tag``, ...).

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    >>> write_regions(m101_unique, "m101.reg", radius=10, color="hotpink", width=2,
    ...               label_column="source_id")  # doctest: +SKIP
    PosixPath('m101.reg')
    """
    check_output(path, overwrite)  # fail before formatting a large table
    text = format_regions(df, **options)
    with (
        atomic_output(path, overwrite) as tmp,
        open(tmp, "w", encoding="utf-8", newline="\n") as out,
    ):
        # in pieces: encoding a file of a million regions (50 MB) in one write costs a second
        # copy of it and twice the time
        for start in range(0, len(text), _WRITE_PIECE):
            out.write(text[start : start + _WRITE_PIECE])
    return Path(path)


_WRITE_PIECE = 1 << 22


def _as_dataframe(df: Any) -> pd.DataFrame:
    if isinstance(df, pd.DataFrame):
        return df
    if hasattr(df, "to_pandas"):  # astropy Table: text decoded as the table readers do
        from xrbid.tables import table_to_frame

        return table_to_frame(df)
    raise InputError(f"expected a table (pandas DataFrame), got {type(df).__name__}")


def _resolve_unit(unit: str | None, is_image: bool) -> str:
    if unit is None:
        return "pixel" if is_image else "arcsec"
    name = _UNIT_ALIASES.get(str(unit).strip().lower())
    if is_image:
        if name != "pixel":
            raise InputError(
                f"image regions have radii in pixels, not {unit!r}; drop the unit or use "
                "system='fk5' for sky radii"
            )
        return name
    if name not in _SKY_UNITS:
        raise InputError(f"unknown radius unit {unit!r}; use arcsec, arcmin or deg")
    return name


def _check_finite(df: pd.DataFrame, values: np.ndarray, name: str) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        raise InputError(
            f"{name} is NaN or infinite in {_rows(df, bad)}; drop or fix those rows first"
        )


def _radii(
    df: pd.DataFrame, radius: Any, radius_column: str | None, marker: str | None, is_image: bool
) -> np.ndarray:
    if marker is not None:
        if radius is not None or radius_column is not None:
            raise InputError("point markers have no radius; drop --radius/--radius-column")
        return np.empty(0)
    if (radius is None) == (radius_column is None):
        raise InputError("give either a radius (e.g. 2arcsec) or a radius column, not both/none")
    if radius_column is not None:
        require_columns(df, [radius_column], what="per-row radii")
        sizes = numeric_column(df, radius_column)
        what = f"radius column {radius_column!r}"
    else:
        sizes = np.full(len(df), _scalar_radius(radius, is_image))
        what = "radius"
    _check_finite(df, sizes, what)
    bad = sizes <= 0
    if bad.any():
        raise InputError(f"{what} is zero or negative in {_rows(df, bad)}; radii must be > 0")
    return sizes


def _scalar_radius(radius: Any, is_image: bool) -> float:
    if hasattr(radius, "unit"):  # astropy Quantity
        from astropy import units as u

        if is_image:
            if radius.unit not in (u.pix, u.dimensionless_unscaled):
                raise InputError("image regions need a radius in pixels")
            return float(radius.value)
        try:
            return float(radius.to_value(u.arcsec))
        except u.UnitConversionError:
            raise InputError(f"radius {radius} is not an angle") from None
    try:
        return float(radius)
    except (TypeError, ValueError):
        raise InputError(f"radius {radius!r} is not a number") from None


def _number_format(values: np.ndarray, digits: int) -> str:
    """A ``%`` format keeping ``digits`` significant digits and never an exponent.

    ``%.{digits}g`` when every value lies in 1e-4..10**digits (where ``%g`` writes plain
    decimals), otherwise ``%.Nf`` with enough decimals for the smallest value.
    """
    nonzero = np.abs(values[values != 0])
    if nonzero.size == 0:
        return f"%.{digits}g"
    smallest = float(nonzero.min())
    if smallest >= 1e-4 and nonzero.max() < 10.0**digits:
        return f"%.{digits}g"
    # as many decimals as the smallest value needs (up to the 324 of the smallest double)
    decimals = min(max(digits - math.floor(math.log10(smallest)) - 1, digits), 340)
    return f"%.{decimals}f"


def _percent(text: str) -> str:
    return text.replace("%", "%%")


_CHUNK = 20_000


def _format_rows(line: str, columns: list[Any]) -> list[str]:
    """Apply the ``%`` template ``line`` to every row of ``columns``, one C-level ``%`` call per
    block of rows (formatting a repeated template is several times faster than a loop over
    rows); returns the formatted blocks."""
    n = len(columns[0])
    if all(isinstance(c, np.ndarray) and c.dtype.kind == "f" for c in columns):
        table = np.column_stack(columns)
    else:
        table = np.empty((n, len(columns)), dtype=object)
        for j, col in enumerate(columns):
            table[:, j] = col
    blocks = []
    for start in range(0, n, _CHUNK):
        block = table[start : start + _CHUNK]
        blocks.append((line * len(block)) % tuple(block.ravel().tolist()))
    return blocks


# --------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------


def parse_regions(text: str, *, pixel_origin: int = 0, source: str = "<string>") -> pd.DataFrame:
    """Parse the text of a DS9 region file into a table, one row per region.

    Parameters
    ----------
    text : str
        Region file text (any DS9 version 4.x file, or the one-line form DS9 prints over XPA).
    pixel_origin : {0, 1}
        Origin of the returned ``x``/``y`` columns: 0 (numpy/photutils; default) or 1 (DS9).
    source : str
        Name used in error messages (the file name).

    Returns
    -------
    pandas.DataFrame
        Columns (see ``docs/regions.md``): ``shape``, ``frame``, ``ra``, ``dec`` (ICRS
        degrees; fk5 taken as ICRS), ``x``, ``y`` (pixels), ``radius`` (arcsec for sky,
        pixels for image), ``radius_outer``, ``semi_major``, ``semi_minor``, ``width``,
        ``height``, ``angle`` (deg), ``vertices``, ``params``, ``marker``, ``label``,
        ``color``, ``tag``, ``exclude``, ``line``.

    Raises
    ------
    RegionSyntaxError
        A line cannot be parsed (the message names the source and line number), or the file
        uses a system that cannot be placed on the sky or the image (physical, CIAO, ...).

    Examples
    --------
    >>> t = parse_regions('fk5\\ncircle(210.8023,54.3487,10") # text={M101 X-1}')
    >>> t.loc[0, "shape"], float(t.loc[0, "ra"]), float(t.loc[0, "radius"]), t.loc[0, "label"]
    ('circle', 210.8023, 10.0, 'M101 X-1')
    """
    if pixel_origin not in (0, 1):
        raise InputError(f"pixel_origin must be 0 or 1, not {pixel_origin!r}")
    from .region_parser import parse_region_text

    return parse_region_text(text, pixel_origin=pixel_origin, source=source)


def read_regions(path: str | os.PathLike, *, pixel_origin: int = 0) -> pd.DataFrame:
    """Read a DS9 region file into a table, one row per region.

    Parameters
    ----------
    path : str or os.PathLike
        The region file.
    pixel_origin : {0, 1}
        Origin of the returned ``x``/``y`` columns: 0 (numpy/photutils; default) or 1 (DS9).

    Returns
    -------
    pandas.DataFrame
        See :func:`parse_regions`.

    Examples
    --------
    >>> regions = read_regions("m101.reg")  # doctest: +SKIP
    >>> regions[["ra", "dec", "radius", "label"]].head()  # doctest: +SKIP
    """
    with reading(path, "region") as file:
        text = file.read_text(encoding="utf-8", errors="replace")
    return parse_regions(text, pixel_origin=pixel_origin, source=str(file))
