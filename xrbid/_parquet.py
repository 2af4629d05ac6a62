"""Parquet tables straight through pyarrow, with the masks and units astropy writes.

astropy's ``Table.read`` of a Parquet file goes through pyarrow and then copies every column
(and turns text into fixed-width numpy strings). This reader converts pyarrow's table with
``to_pandas`` one block per column, releasing Arrow memory as it goes (text stays in Arrow
memory: pandas' ``str`` dtype), then applies what astropy's writer stores beside the data: the
units and the masks of masked columns (a ``<name>.mask`` column named in ``table_meta_yaml``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["read_parquet"]

_META_KEY = b"table_meta_yaml"
_MASKED = "astropy.table.column.MaskedColumn"
_INDEX_PREFIX = "__index_level_"  # pandas' index columns: not data


class _Serialized(dict):
    """An ``!astropy.table.SerializedColumn`` mapping from the YAML metadata."""


def read_parquet(path: str | Path) -> tuple[pd.DataFrame, dict[str, str]] | None:
    """Read a Parquet table; None when the file needs astropy's reader.

    Parameters
    ----------
    path : str or path-like
        The Parquet file.

    Returns
    -------
    (pandas.DataFrame, dict) or None
        The table (masked or null floats as NaN, masked or null integers and booleans as
        pandas nullable arrays, text as ``str`` with NaN for missing values) and the unit of
        every column that has one. None when astropy's metadata holds columns other than
        plain or masked ones (Time, SkyCoord, Quantity mixins), which only astropy rebuilds.

    Raises
    ------
    ValueError
        The astropy metadata beside the data (``table_meta_yaml``) is not YAML or not the
        mappings astropy writes: the masks it describes cannot be applied. Or a column holds
        lists, structs or maps rather than one value per cell.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    units, masked = _astropy_meta(table.schema.metadata or {})
    if masked is None:
        return None
    keep = [n for n in table.column_names if not n.startswith(_INDEX_PREFIX)]
    for name in keep:
        if pa.types.is_nested(table.schema.field(name).type):  # lists, structs, maps
            raise ValueError(f"column {name!r} holds arrays; xrbid reads one value per cell")
    masks = {n: table.column(f"{n}.mask").to_numpy(zero_copy_only=False) for n in masked}
    masks = {n: m for n, m in masks.items() if m.any()}
    keep = [n for n in keep if not (n.endswith(".mask") and n[:-5] in masked)]
    table = table.select(keep).replace_schema_metadata(None)

    # astropy's reader gives masked integers and booleans as pandas nullable arrays
    nullable = {pa.bool_(): pd.BooleanDtype()}
    for bits in (8, 16, 32, 64):
        nullable[getattr(pa, f"int{bits}")()] = pd.api.types.pandas_dtype(f"Int{bits}")
        nullable[getattr(pa, f"uint{bits}")()] = pd.api.types.pandas_dtype(f"UInt{bits}")
    special = {
        n: table.column(n).to_pandas(types_mapper=nullable.get).array
        for n in keep
        if table.column(n).type in nullable and (n in masks or table.column(n).null_count)
    }
    # One block per column (no copy into a 2-D float block) and Arrow memory released as the
    # columns are converted: faster than pandas.read_parquet, and a lower peak.
    df = table.to_pandas(split_blocks=True, self_destruct=True)
    del table
    for name in keep:
        if name not in special and name not in masks:
            continue  # to_pandas gave the column as astropy's reader does
        values = special[name] if name in special else df[name].array.copy()
        if name in masks:
            mask = masks[name]
            values[mask] = np.nan if pd.api.types.is_float_dtype(values.dtype) else None
        df[name] = values
    return df, {n: u for n, u in units.items() if n in df.columns}


def _astropy_meta(metadata: dict) -> tuple[dict[str, str], list[str] | None]:
    """Units and masked column names from astropy's ``table_meta_yaml``; None for mixins."""
    text = metadata.get(_META_KEY)
    if text is None:
        return {}, []
    import yaml

    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's when built with it
        pass

    def serialized(loader, node):
        return _Serialized(loader.construct_mapping(node))

    Loader.add_constructor("!astropy.table.SerializedColumn", serialized)
    try:
        header = yaml.load(text.decode("utf-8"), Loader=Loader)  # a safe loader's subclass
    except (yaml.YAMLError, UnicodeDecodeError):
        header = None
    meta = (header.get("meta") or {}) if isinstance(header, dict) else None
    if isinstance(meta, list):  # !!omap -> list of pairs
        meta = (
            dict(meta) if all(isinstance(p, tuple | list) and len(p) == 2 for p in meta) else None
        )
    serialized = (meta.get("__serialized_columns__") or {}) if isinstance(meta, dict) else None
    datatype = (header.get("datatype") or []) if isinstance(header, dict) else None
    if not isinstance(serialized, dict) or not isinstance(datatype, list):
        # astropy's own reader fails on such a file with errors of every kind
        raise ValueError("the table metadata (YAML header table_meta_yaml) is broken")
    units = {
        str(c["name"]): str(c["unit"]) for c in datatype if isinstance(c, dict) and c.get("unit")
    }
    masked = []
    for name, spec in serialized.items():
        if not (
            isinstance(spec, dict)
            and spec.get("__class__") == _MASKED
            and set(spec) <= {"__class__", "data", "mask", "name", "unit", "description", "meta"}
            and isinstance(spec.get("data"), _Serialized)
            and spec["data"].get("name") == name
            and isinstance(spec.get("mask"), _Serialized)
            and spec["mask"].get("name") == f"{name}.mask"
        ):
            return units, None
        masked.append(str(name))
    return units, masked
