"""The table a DS9 region file becomes: its columns, what the parser collects while it reads
(:class:`_State`), and the assembly of the collected rows into one table (checks of latitudes
and sizes, other sky frames converted to ICRS, column units).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import RegionSyntaxError

__all__ = ["COLUMNS"]

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

_PASS_THROUGH = ("fk5", "icrs")  # written to ra/dec unchanged (they differ by < 0.03 arcsec)


@dataclass
class _State:
    """What the parser collects while it reads one file: the system and global properties in
    force, the rows of the general path, and where the system and globals change (for the
    fast-path lines); ``error`` builds the message naming the source and file line."""

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
