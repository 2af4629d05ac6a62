"""Fast reader of single-table VOTable TABLEDATA files (CSCview's download format).

astropy's VOTable reader converts cell by cell in Python: about 30 s and 7 GB for a million
CSC rows, and importing it takes half a second. This reader parses the metadata (fields, types,
nulls, version) with the standard library's XML parser and streams the TABLEDATA body in chunks
of :data:`CHUNK_BYTES`: the tags of each chunk become field and row separators through a few
``bytes.replace`` calls, and pandas' C parser converts whole columns.
The values are those of astropy's reader: whitespace around cells stripped, nulls and NaN, the
VOTable spellings of booleans, fixed-width strings truncated, ``float`` fields as float32.

Anything unusual makes :func:`read_tabledata` return None, and the caller reads the file with
astropy: BINARY/BINARY2/FITS serialisations, several tables, array-valued or complex fields,
XML entities, comments or CDATA in the body, attributes on TR/TD, rows of the wrong length,
hexadecimal or out-of-range integers, words the C parser does not take for numbers, and
metadata astropy would rewrite (repeated names or IDs, ``datatype`` aliases, null values it
coerces, a missing version) or refuse.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

__all__ = ["CHUNK_BYTES", "read_tabledata"]

CHUNK_BYTES = 32 * 2**20
"""Bytes of TABLEDATA converted and parsed at a time (bounds the reader's working memory)."""

_HEAD_LIMIT = 64 * 2**20  # metadata larger than this: not a CSCview-like file
_TAIL_LIMIT = 16 * 2**20  # nor is this much after the body
_SEP, _EOL = b"\x1f", b"\x1e"  # control characters that XML 1.0 forbids in a document
_TABLE_TAG = re.compile(rb"<TABLE[\s>]")
_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.\d+)?")
_PLAIN_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # a name astropy's fix_id keeps as it is
_ARRAYSIZE = re.compile(r"[\dx*]+")  # astropy refuses others (E13)
_FLOAT_NULL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_INT_NULL = re.compile(r"[+-]?\d+")
_ENCODING = re.compile(rb"<\?xml[^>]*\sencoding\s*=\s*[\"']([^\"']*)[\"']")
_BETWEEN_TAGS = re.compile(rb">[ \t\r\n]+<")
_XML_SPACE = " \t\r\n"  # XML's whitespace: astropy strips it around the text of a cell
_SPACE_RUN = re.compile(rb"[ \t\r\n]*")
_SPACE_TAIL = re.compile(rb"[ \t\r\n]*\Z")

# Words astropy's float parser turns into NaN (any text float() refuses is a null there; other
# words fail the C parser and send the file to astropy).
_FLOAT_NA = ["", "NaN", "nan", "NAN", "-NaN", "-nan", "+NaN", "+nan", "null", "NULL", "None"]
# astropy masks an empty integer cell (VOTable >= 1.3) and 'nan' in any case.
_INT_NA = ["", *("".join(c) for c in itertools.product("nN", "aA", "nN"))]
_INTS: dict[str, tuple[type, str]] = {
    "unsignedByte": (np.uint8, "UInt8"),
    "short": (np.int16, "Int16"),
    "int": (np.int32, "Int32"),
    "long": (np.int64, "Int64"),
}
_BOOLEAN_WORDS = {"TRUE": True, "T": True, "1": True, "FALSE": False, "F": False, "0": False}
_BIT_WORDS = {"1": True, "0": False}
_NULL_WORDS = {"", "?"}
_BIT_NULL_WORDS = {""}  # astropy rejects a bit cell of '?' (E04)


class _Unusual(Exception):
    """The file holds something this reader leaves to astropy."""


@dataclass
class _Column:
    """One FIELD and the parsed pieces of its column, chunk by chunk."""

    name: str
    kind: str  # "float", "int", "bool", "str"
    datatype: str
    null: object = None
    width: int | None = None  # characters kept of a fixed-width string
    parts: list = field(default_factory=list)
    masks: list = field(default_factory=list)


def read_tabledata(path: str | Path) -> tuple[pd.DataFrame, dict[str, str]] | None:
    """Read a single-table TABLEDATA VOTable; None when astropy should read it instead.

    Parameters
    ----------
    path : str or path-like
        The VOTable file.

    Returns
    -------
    (pandas.DataFrame, dict) or None
        The table (columns named by ``name=``, falling back to ``ID=``; floats with NaN for
        nulls; integers and booleans nullable when a cell is null; text as pandas' ``str``
        dtype) and the unit string of every FIELD that has one, as written. None for any file
        outside the plain scalar TABLEDATA case (see the module notes).
    """
    try:
        with open(path, "rb") as stream:
            return _read(stream)
    except (_Unusual, ValueError, TypeError, OverflowError, pd.errors.ParserError):
        return None


def _read(stream: BinaryIO) -> tuple[pd.DataFrame, dict[str, str]]:
    head = b""
    while (start := head.find(b"<TABLEDATA>")) < 0:
        block = stream.read(2**20)
        if not block or len(head) > _HEAD_LIMIT or b"<STREAM" in head:
            raise _Unusual("no TABLEDATA (BINARY, BINARY2 or FITS data)")
        head += block
    body_start = start + len(b"<TABLEDATA>")
    head = head[:body_start]
    if len(_TABLE_TAG.findall(head)) != 1 or b"<BINARY" in head or b"<FITS" in head:
        raise _Unusual("several tables or not TABLEDATA")
    declared = _ENCODING.search(head[:500])
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8", b"us-ascii", b"ascii"):
        raise _Unusual("not UTF-8")

    # The end of the file closes the elements the head opened; anything after the body that
    # is another table sends the file to astropy. (A second table inside what looks like
    # this body leaves tags in a chunk, which does too.)
    size = stream.seek(0, io.SEEK_END)
    tail_start = max(body_start, size - _TAIL_LIMIT)
    stream.seek(tail_start)
    tail = stream.read()
    end = tail.rfind(b"</TABLEDATA>")
    if end < 0 or _TABLE_TAG.search(tail, end):
        raise _Unusual("no end of TABLEDATA, or several tables")
    columns, units = _columns(head + tail[end:])

    stream.seek(body_start)
    for piece in _body_pieces(stream, tail_start + end - body_start):
        _parse_piece(piece, columns)
    return _assemble(columns), units


def _body_pieces(stream: BinaryIO, length: int) -> Iterator[bytes]:
    """The body in pieces of whole rows, each about CHUNK_BYTES long."""
    carry = b""
    while length > 0:
        block = stream.read(min(CHUNK_BYTES, length))
        if not block:
            raise _Unusual("file shorter than it was")
        length -= len(block)
        cut = block.rfind(b"</TR>") + len(b"</TR>") if length > 0 else len(block)
        if cut < len(b"</TR>"):  # no row ends in this block: read on
            carry += block
            continue
        piece = b"".join((carry, memoryview(block)[:cut]))
        carry = block[cut:]
        if _SPACE_RUN.match(piece).end() < len(piece):  # not whitespace alone
            yield piece
    if carry.strip():
        raise _Unusual("text after the last row")


def _columns(meta: bytes) -> tuple[list[_Column], dict[str, str]]:
    """The FIELDs of the table and their unit strings, from the document without its rows.

    The metadata is parsed by the standard library's XML parser (expat, as astropy's parser);
    what astropy would rename, coerce, warn about or refuse sends the file to astropy.
    """
    import xml.etree.ElementTree as ET

    if b"<!DOCTYPE" in meta or b"<!ENTITY" in meta:
        raise _Unusual("a document type declaration")
    try:
        root = ET.fromstring(meta)
    except ET.ParseError as exc:  # every complaint about the file is left to the full reader
        raise _Unusual("metadata") from exc
    if _local(root.tag) != "VOTABLE":
        raise _Unusual("not a VOTABLE document")
    version = _VERSION.fullmatch(root.get("version") or "")
    if version is None:
        raise _Unusual("no VOTable version")
    modern = (int(version.group(1)), int(version.group(2))) >= (1, 3)
    tables = [e for e in root.iter() if _local(e.tag) == "TABLE"]
    if len(tables) != 1 or tables[0].get("ref") is not None:
        raise _Unusual("not one table")
    fields = [e for e in tables[0] if _local(e.tag) == "FIELD"]
    if not fields:
        raise _Unusual("no FIELDs")

    names, ids = [], []
    for f in fields:
        ident = f.get("ID") or f.get("id")
        name = f.get("name") or ident
        if ident is None and name is not None and _PLAIN_ID.fullmatch(name):
            ident = name  # astropy derives the ID from the name
        if name is None or ident is None or name == "cprojection":
            raise _Unusual("a FIELD astropy names otherwise")
        names.append(name)
        ids.append(ident)
    # astropy makes IDs unique and renames a FIELD whose name is another FIELD's ID
    if len(set(names)) < len(names) or len(set(ids)) < len(ids):
        raise _Unusual("repeated column name or ID")
    if any(n != i and n in ids for n, i in zip(names, ids)):
        raise _Unusual("a name that is another column's ID")

    columns, units = [], {}
    for f, name in zip(fields, names):
        values = [e for e in f if _local(e.tag) == "VALUES"]
        null = values[0].get("null") if values else None
        columns.append(_column(name, f.get("datatype"), f.get("arraysize"), null, modern))
        if f.get("unit"):
            units[name] = f.get("unit")
    return columns, units


def _local(tag: str) -> str:
    """An element's name without its namespace."""
    return tag.rpartition("}")[2]


def _column(
    name: str, datatype: str | None, arraysize: str | None, null: str | None, modern: bool
) -> _Column:
    if arraysize is not None and not _ARRAYSIZE.fullmatch(arraysize):
        raise _Unusual("array field")
    if datatype in ("char", "unicodeChar"):
        size = arraysize or "1"  # astropy reads a char without arraysize as one character
        if size == "*":
            return _Column(name, "str", datatype)
        digits = size.removesuffix("*")
        if not digits.isdigit():
            raise _Unusual("array of strings")
        return _Column(name, "str", datatype, width=int(digits))
    if arraysize not in (None, "1"):
        raise _Unusual("array field")
    if datatype in ("double", "float"):
        return _Column(name, "float", datatype, _null(null, _FLOAT_NULL, float))
    if datatype in _INTS:
        if not modern:  # before VOTable 1.3 an empty integer cell is 0 or null, not masked
            raise _Unusual("integers in VOTable < 1.3")
        value = _null(null, _INT_NULL, int)
        info = np.iinfo(_INTS[datatype][0])
        if value is not None and not info.min <= value <= info.max:
            raise _Unusual("a null outside the integer's range")  # astropy clips it
        return _Column(name, "int", datatype, value)
    if datatype in ("boolean", "bit"):
        return _Column(name, "bool", datatype)
    raise _Unusual(f"datatype {datatype}")


def _null(text: str | None, pattern: re.Pattern, convert: type) -> float | int | None:
    """The ``null=`` value of a numeric FIELD; only plain decimal numbers (else astropy's)."""
    if text is None:
        return None
    if not pattern.fullmatch(text.strip()):
        raise _Unusual("a null value astropy coerces")  # hex, words, fractions for integers
    return convert(text.strip())


def _to_csv(piece: bytes, ncols: int) -> bytes:
    """Rows ``<TR><TD>a</TD><TD>b</TD></TR>...`` -> ``a SEP b EOL ...`` (no tags left)."""
    if _SEP in piece or _EOL in piece or b"&" in piece:
        raise _Unusual("separator bytes or XML entities in the body")
    if b"<TD/>" in piece:
        piece = piece.replace(b"<TD/>", b"<TD></TD>")
    text = _replace_tags(piece, _layout(piece))
    if text is None or b"<" in text:
        # Whitespace between the tags differs from row to row: drop it all (astropy strips
        # the text of a cell, so whitespace-only cells are empty there too) and try again.
        text = _replace_tags(_BETWEEN_TAGS.sub(b"><", piece), (b"", b"", b"", b""))
        if text is None or b"<" in text:
            raise _Unusual("tags other than TR and TD, comments or CDATA in the body")
    rows = text.count(_EOL) + 1
    if text.count(_SEP) != rows * (ncols - 1):
        raise _Unusual("rows of the wrong length")
    return text


def _layout(piece: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """Whitespace after <TR>, between cells, before </TR> and between rows, in the first rows."""

    def gap(pattern: bytes) -> bytes:
        found = re.search(pattern, piece[:65536])
        return found.group(1) if found else b""

    return (
        gap(rb"<TR>([ \t\r\n]*)<TD>"),
        gap(rb"</TD>([ \t\r\n]*)<TD>"),
        gap(rb"</TD>([ \t\r\n]*)</TR>"),
        gap(rb"</TR>([ \t\r\n]*)<TR>"),
    )


def _replace_tags(piece: bytes, layout: tuple[bytes, bytes, bytes, bytes]) -> bytes | None:
    """The rows of ``piece`` as separated text (the last row without EOL); None on a misfit."""
    after_tr, between_cells, before_end, between_rows = layout
    first = b"<TR>" + after_tr + b"<TD>"
    last = b"</TD>" + before_end + b"</TR>"
    start = _SPACE_RUN.match(piece).end()  # whitespace before the first row
    end = len(piece) - len(piece[-4096:]) + _SPACE_TAIL.search(piece[-4096:]).start()
    if not (piece.startswith(first, start) and piece.endswith(last, 0, end)):
        return None
    # The replacements leave the first and the last tags alone: cut them off afterwards, so
    # that the piece is copied once less.
    text = piece.replace(last + between_rows + first, _EOL)
    text = text.replace(b"</TD>" + between_cells + b"<TD>", _SEP)
    return text[start + len(first) : len(text) - (len(piece) - end) - len(last)]


def _parse_piece(piece: bytes, columns: list[_Column]) -> None:
    """Parse one piece of rows and append each column's values to ``columns``."""
    text = _to_csv(piece, len(columns))
    dtypes, na_values = {}, {}
    for j, col in enumerate(columns):
        if col.kind == "float":
            dtypes[j], na_values[j] = np.float64, _FLOAT_NA
        elif col.kind == "int":
            dtypes[j], na_values[j] = "Int64", _INT_NA
        elif col.kind == "bool":
            dtypes[j] = "category"
        else:
            dtypes[j] = "str"
    frame = pd.read_csv(
        io.BytesIO(text),
        sep=_SEP.decode(),
        lineterminator=_EOL.decode(),
        header=None,
        names=list(range(len(columns))),
        index_col=False,
        dtype=dtypes,
        keep_default_na=False,
        na_values=na_values,
        quoting=csv.QUOTE_NONE,
        skip_blank_lines=False,
        encoding="utf-8",
        engine="c",
    )
    if len(frame) != text.count(_EOL) + 1:  # a last row of one empty cell reads as no row
        raise _Unusual("an empty last row")
    del text
    for j, col in enumerate(columns):
        values = frame[j]
        if col.kind == "float":
            col.parts.append(values.to_numpy(dtype=np.float64, copy=True))
        elif col.kind == "int":
            col.masks.append(values.isna().to_numpy())
            col.parts.append(values.to_numpy(dtype=np.int64, na_value=0))
        elif col.kind == "bool":
            bit = col.datatype == "bit"
            words, nulls = (_BIT_WORDS, _BIT_NULL_WORDS) if bit else (_BOOLEAN_WORDS, _NULL_WORDS)
            keys = [str(c).strip(_XML_SPACE).upper() for c in values.cat.categories]
            if any(k not in words and k not in nulls for k in keys):
                raise _Unusual("a boolean astropy does not know")
            lookup = np.array([words.get(k, False) for k in keys] + [False])
            missing = np.array([k not in words for k in keys] + [True])
            codes = values.cat.codes.to_numpy()  # -1 (null) never happens: no NA words
            col.parts.append(lookup[codes])
            col.masks.append(missing[codes])
        else:
            col.parts.append(values.array)


def _assemble(columns: list[_Column]) -> pd.DataFrame:
    """One DataFrame from the parsed pieces, with astropy's nulls and dtypes."""
    out: dict[str, object] = {}
    for col in columns:
        if col.kind == "str":
            text = pd.Series(pd.concat([pd.Series(p) for p in col.parts], ignore_index=True))
            col.parts.clear()
            text = text.str.strip(_XML_SPACE)
            if col.width is not None:
                text = text.str.slice(0, col.width)
            out[col.name] = text.array
            continue
        values = np.concatenate(col.parts) if col.parts else np.array([], np.float64)
        mask = np.concatenate(col.masks) if col.masks else None
        col.parts.clear()
        col.masks.clear()
        if col.kind == "float":
            if col.null is not None:
                values[values == col.null] = np.nan
            if col.datatype == "float":
                with np.errstate(over="ignore"):  # as astropy: beyond float32 is inf
                    values = values.astype(np.float32)
            out[col.name] = values
        elif col.kind == "int":
            dtype, nullable = _INTS[col.datatype]
            if col.null is not None:
                mask |= values == col.null
            info = np.iinfo(dtype)
            present = values[~mask]
            if present.size and (present.min() < info.min or present.max() > info.max):
                raise _Unusual("integer out of range")
            out[col.name] = _nullable(values.astype(dtype), mask, nullable)
        else:
            out[col.name] = _nullable(values, mask, "boolean")
    return pd.DataFrame(out)


def _nullable(values: np.ndarray, mask: np.ndarray, dtype: str):
    """``values`` as a numpy array, or as a nullable pandas array when ``mask`` is set."""
    if not mask.any():
        return values
    array = pd.array(values, dtype=dtype)
    array[mask] = pd.NA
    return array
