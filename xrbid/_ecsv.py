"""ECSV files written byte for byte as astropy writes them, without formatting cell by cell.

astropy's ECSV writer (``Table.write(..., format="ascii.ecsv")``) turns every cell into a
string in Python (``str(col[i])``) and joins every row through the csv module, and importing
`astropy.table` imports all of astropy's table readers and writers (ASCII, FITS, VOTable) and,
for the YAML header, `astropy.coordinates` and `astropy.time`. This writer gives the same
bytes for the tables xrbid writes, with neither cost:

- the header is the YAML document astropy's ECSV writer emits (``astropy.table.meta``: a
  ``datatype`` list of ``{name, unit, datatype}`` mappings and ``schema: astropy-2.0``),
  emitted by PyYAML with the same dumper settings (safe representer, flow style chosen per
  mapping, width 130; libyaml's emitter where PyYAML has it, which writes the same text),
  and units spelled as astropy's ``Column.unit`` spells them;
- the body is converted a column at a time: ``tolist`` gives Python's shortest round-trip
  ``repr`` of a float64, which is numpy's ``str`` of it (float32 goes through numpy's
  ``astype(str)``), each distinct value (by its bits) spelled once; text is stripped of the
  spaces and tabs astropy strips and quoted by the csv module with astropy's dialect
  (space-separated, minimal quoting), a column at a time;
  empty and masked cells are ``""`` as astropy's ``CsvWriter`` writes them; the cells of each
  row are then joined by spaces, a block of rows at a time.

Columns this writer does not cover (object, bytes, complex, dates, float16/float128,
multidimensional, text holding line breaks) send the whole table to astropy's writer, so the
result is always astropy's, except where astropy's file would not read back as written:

- a row whose first cell is text starting with ``#`` reads as a comment there (the row is
  lost): this writer quotes such a cell, which astropy's reader takes as the text;
- text holding a line boundary of `str.splitlines` other than the line feed (carriage
  return, vertical tab, form feed, the file/group/record separators, NEL, U+2028, U+2029)
  is split into several rows, or changed, by astropy's reader, whoever wrote it:
  `write_ecsv` raises ValueError rather than write such a file.

Column formats, descriptions and table metadata have no place in
:class:`EcsvColumn`: a caller that needs them writes with astropy.
"""

from __future__ import annotations

import csv
import io
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from astropy.table import Table

__all__ = ["EcsvColumn", "astropy_table", "write_ecsv"]

ECSV_VERSION = "1.0"  # the version astropy's writer declares
_SCHEMA = "astropy-2.0"
_ROWS_PER_BLOCK = 50_000  # rows joined at a time (bounds the text held in memory)
# Stands in for an empty column name until the csv module has joined the names, as astropy's
# CsvWriter does, so that a space-separated line shows the empty name as "".
_EMPTY = "\x1a2b=48Av%0-V3p>bX"
_QUOTED_EMPTY = '""'
_COMMENT = re.compile(r"\s*#")  # astropy quotes every name when the first one looks like this
# str.splitlines' line boundaries other than "\n": astropy's ECSV reader splits rows there
_LINE_SEPARATORS = ("\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
_DIALECT = {"delimiter": " ", "quotechar": '"', "doublequote": True, "escapechar": None}


@dataclass(frozen=True)
class EcsvColumn:
    """One column to write: what astropy's ``Column`` or ``MaskedColumn`` would hold.

    Attributes
    ----------
    name : str
        The column name.
    data : numpy.ndarray
        The values, shape ``(nrows,)``.
    mask : numpy.ndarray of bool, optional
        True where a value is missing (written as ``""``, read back masked); None for none.
    unit : str, optional
        The unit, as given to astropy's ``Column.unit`` (parsed, then written as astropy
        spells it).
    """

    name: str
    data: np.ndarray
    mask: np.ndarray | None = None
    unit: str | None = None


def write_ecsv(columns: Sequence[EcsvColumn], path: str | os.PathLike) -> None:
    """Write ``columns`` to ``path`` as ECSV: the bytes of astropy's ECSV writer.

    Parameters
    ----------
    columns : sequence of EcsvColumn
        The table, one entry a column, all of the same length.
    path : str or path-like
        The file, created or replaced (the caller takes care of atomicity and overwriting).

    Raises
    ------
    ValueError
        A text cell holds a line boundary other than the line feed, which astropy's ECSV
        reader does not read back as written.

    Notes
    -----
    The file is UTF-8. astropy's writer uses the locale's encoding, UTF-8 on any usual
    system; on another, this file is still valid ECSV, whose encoding is UTF-8.
    """
    _check_separators(columns)
    cells = _cells(columns)
    if cells is None:
        astropy_table(columns).write(path, format="ascii.ecsv", overwrite=True)
        return
    header = _header(tuple((c.name, c.data.dtype, c.unit) for c in columns))
    with open(path, "w", encoding="utf-8", newline="") as stream:
        stream.write(header)
        _write_body(stream, cells, len(columns[0].data) if columns else 0)


def _check_separators(columns: Sequence[EcsvColumn]) -> None:
    """Refuse text that astropy's ECSV reader would split into rows (see the module notes)."""
    for c in columns:
        data = np.asarray(c.data)
        if data.dtype.kind not in "UO" or not data.size:
            continue
        cells = [v for v in data.ravel().tolist() if isinstance(v, str)]
        text = "".join(cells)  # one scan a separator, in C
        for sep in _LINE_SEPARATORS:
            if sep in text:
                hit = next(i for i, v in enumerate(cells) if sep in v)
                raise ValueError(
                    f"column {c.name!r}, row {hit}, holds the line separator {sep!r}, which "
                    "ECSV cannot keep; replace it in the text"
                )


def astropy_table(columns: Sequence[EcsvColumn]) -> Table:
    """The astropy Table that ``columns`` describe (``MaskedColumn`` where a mask is given)."""
    from astropy.table import Column, MaskedColumn, Table

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unit strings astropy does not know are kept as text
        return Table(
            [
                Column(c.data, name=c.name, unit=c.unit)
                if c.mask is None
                else MaskedColumn(c.data, name=c.name, mask=c.mask, unit=c.unit)
                for c in columns
            ],
            copy=False,
        )


# --------------------------------------------------------------------------------------------
# header


@lru_cache(maxsize=64)
def _header(layout: tuple[tuple[str, np.dtype, str | None], ...]) -> str:
    """The header text, from ``# %ECSV`` to the line of names, for (name, dtype, unit)s."""
    import yaml

    datatype = []
    for name, dtype, unit in layout:
        attrs = {"name": name}  # astropy's order: name, unit, datatype
        if unit is not None:
            attrs["unit"] = _unit_text(unit)
        attrs["datatype"] = "string" if dtype.kind == "U" else dtype.name
        datatype.append(attrs)
    # astropy's dumper sorts the top-level keys and writes each column's in the order above
    document = {"datatype": datatype, "schema": _SCHEMA}
    # libyaml's emitter (PyYAML's wheels carry it) writes the same text as PyYAML's Python
    # emitter, which astropy uses, four times faster
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text = yaml.dump(document, Dumper=dumper, default_flow_style=None, width=130, sort_keys=False)
    lines = [f"%ECSV {ECSV_VERSION}", "---", *text.splitlines()]
    names = _names_line([name for name, _, _ in layout])
    return "".join(f"# {line}{os.linesep}" for line in lines) + names + os.linesep


# How astropy's Column.unit spells the units of xrbid's schema (xrbid.schema.SCHEMA) and a
# few other common ones, so that writing a table in those units does not import
# astropy.units (a quarter of a second, more than writing the table); the tests check every
# entry against astropy.units. Any other unit text is spelled by astropy itself.
_ASTROPY_SPELLING = {
    "deg": "deg",
    "arcsec": "arcsec",
    "arcmin": "arcmin",
    "mas": "mas",
    "s": "s",
    "count": "ct",
    "pix": "pix",
    "mag": "mag",
    "erg / (s cm2)": "erg / (s cm2)",
}


@lru_cache(maxsize=256)
def _unit_text(unit: str) -> str:
    """``unit`` as astropy's ``Column.unit`` holds and writes it."""
    known = _ASTROPY_SPELLING.get(unit)
    if known is not None:
        return known
    from astropy import units as u

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return str(u.Unit(unit, parse_strict="silent"))


def _names_line(names: list[str]) -> str:
    """The column names, space-separated and quoted as astropy's ECSV header writes them."""
    quote_all = bool(names) and (
        _COMMENT.match(names[0]) is not None or any(n.strip() != n for n in names)
    )
    out = io.StringIO()
    quoting = csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    csv.writer(out, quoting=quoting, lineterminator="\r\n", **_DIALECT).writerow(
        [_EMPTY if n == "" and not quote_all else n for n in names]
    )
    return out.getvalue().replace(_EMPTY, _QUOTED_EMPTY).rstrip("\r\n")


# --------------------------------------------------------------------------------------------
# body


def _cells(columns: Sequence[EcsvColumn]) -> list[tuple[np.ndarray, np.ndarray | None]] | None:
    """Each column's values (text already stripped) and mask; None for astropy's writer."""
    out = []
    for c in columns:
        if not c.name:
            return None  # astropy names such a column itself
        data = np.asarray(c.data)
        kind = data.dtype.kind
        if data.ndim != 1 or len(data) != len(columns[0].data):
            return None
        if kind == "U":
            data = np.char.strip(data, " \t")  # astropy's DefaultSplitter.process_val
            # line breaks are quoted according to the line terminator: left to astropy
            for unusual in ("\n", "\r"):
                if data.size and (np.char.find(data, unusual) >= 0).any():
                    return None
        elif not (kind in "biu" or (kind == "f" and data.dtype.itemsize in (4, 8))):
            return None  # object, bytes, complex, dates, float16/float128
        mask = None
        if c.mask is not None:
            mask = np.asarray(c.mask, dtype=bool)
            if mask.shape != data.shape:
                return None
            if not mask.any():
                mask = None
        out.append((data, mask))
    return out


def _as_text(data: np.ndarray, mask: np.ndarray | None) -> list[str]:
    """The cells as astropy writes them: ``str`` of each value, text quoted, blanks ``""``."""
    kind = data.dtype.kind
    if kind == "U":
        text = _quoted(data.tolist())
        blank = data == ""  # astropy's CsvWriter writes an empty cell as ""
        mask = blank if mask is None else mask | blank
    elif kind == "b":
        text = np.where(data, "True", "False").tolist()
    elif kind == "f":
        text = _float_text(data)
    else:
        text = list(map(str, data.tolist()))
    if mask is not None and mask.any():
        cells = np.array(text, dtype=object)
        cells[mask] = _QUOTED_EMPTY
        text = cells.tolist()
    return text


def _float_text(data: np.ndarray) -> list[str]:
    """``str`` of each float as numpy spells it, each distinct value spelled once.

    Spelling a float (the shortest text that reads back as it) is most of the time taken to
    write a table, and tables repeat values (a source's position and flux on each of its
    observations): the values are grouped by their bits, so that ``-0.0`` keeps its sign.

    Parameters
    ----------
    data : numpy.ndarray
        float64 or float32 values, shape ``(n,)``.

    Returns
    -------
    list of str
        ``n`` cells.
    """
    bits = np.ascontiguousarray(data).view(f"u{data.dtype.itemsize}")
    codes, distinct = pd.factorize(bits, sort=False)
    values = distinct.view(data.dtype)
    if data.dtype.itemsize == 4:
        spelled = values.astype(str).tolist()  # float32's own shortest spelling, numpy's str
    else:
        spelled = list(map(str, values.tolist()))  # Python's repr of a float64 is numpy's str
    if len(spelled) == len(codes):  # no value repeats: the cells are in order already
        return spelled
    return np.array(spelled, dtype=object)[codes].tolist()


def _quoted(cells: list[str]) -> list[str]:
    """Text cells quoted by the csv module with astropy's dialect (one column, no line breaks)."""
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\n", **_DIALECT).writerows(
        zip(cells)
    )
    text = out.getvalue().split("\n")
    text.pop()  # after the last line break
    return text


def _quote_comment(cell: str) -> str:
    """A row's first cell, quoted when the line would otherwise read as a comment."""
    if _COMMENT.match(cell) is None:
        return cell
    return '"' + cell.replace('"', '""') + '"'


def _write_body(stream, cells: list[tuple[np.ndarray, np.ndarray | None]], nrows: int) -> None:
    """Join the cells of each row by spaces and write the rows, a block of rows at a time."""
    for start in range(0, nrows, _ROWS_PER_BLOCK):
        part = slice(start, start + _ROWS_PER_BLOCK)
        columns = [
            _as_text(data[part], None if mask is None else mask[part]) for data, mask in cells
        ]
        if columns and cells[0][0].dtype.kind == "U":
            columns[0] = [_quote_comment(c) for c in columns[0]]
        stream.write(os.linesep.join(map(" ".join, zip(*columns))))
        stream.write(os.linesep)
