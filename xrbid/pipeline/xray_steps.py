"""The X-ray side of ``xrbid run``: the X-ray table (a file or a CSC query) and the calibrators."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from .config import GalaxyConfig
from .step import Context, Step
from .step_io import has_xray, write_source_regions

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CALIBRATORS", "XRAY", "XRAY_COLUMNS"]

XRAY_COLUMNS = ["source_id", "ra", "dec", "theta", "counts"]


def _xray_params(cfg: GalaxyConfig) -> dict[str, Any]:
    q = cfg.xray.query
    if q is None:
        return {}
    return {"query": q.model_dump(mode="json"), "centre": [cfg.galaxy.ra, cfg.galaxy.dec]}


def _xray_inputs(cfg: GalaxyConfig) -> dict[str, Path]:
    return {"table": cfg.xray.table} if cfg.xray.table is not None else {}


def _xray_outputs(cfg: GalaxyConfig) -> list[str]:
    return ["xray_sources.reg"] + (["csc.ecsv"] if cfg.xray.query is not None else [])


def _xray_work(ctx: Context) -> dict[str, Any]:
    import xrbid

    cfg = ctx.cfg
    if cfg.xray.query is not None:
        q = cfg.xray.query
        df = xrbid.query_csc(
            (cfg.galaxy.ra, cfg.galaxy.dec),
            q.radius,
            release=q.release,
            offline=q.offline,
            url=q.url,
        )
        xrbid.require_columns(df, XRAY_COLUMNS, what="xrbid run (the CSC answer)")
        xrbid.write_table(df, ctx.out("csc.ecsv"))
    else:
        df = _xray_load(ctx)
    if len(df) == 0:
        raise InputError("the X-ray table has no rows; check [xray]")
    unique = xrbid.unique_sources(df)
    write_source_regions(unique, ctx.out("xray_sources.reg"), 10.0, cfg.outputs.region_2sigma)
    ctx.data["xray"] = df
    ctx.data["xray_unique"] = unique
    return {"rows": len(df), "sources": len(unique)}


def _xray_load(ctx: Context) -> pd.DataFrame:
    import xrbid

    cfg = ctx.cfg
    path = cfg.xray.table if cfg.xray.table is not None else ctx.existing("csc.ecsv")
    return xrbid.read_table(
        path,
        required=XRAY_COLUMNS,
        what="xrbid run ([xray].table: a CSC table with names, positions, theta and counts)",
    )


XRAY = Step(
    "xray",
    "X-ray table",
    (),
    _xray_work,
    _xray_outputs,
    _xray_load,
    _xray_params,
    _xray_inputs,
    enabled=has_xray,
)


def _cal_params(cfg: GalaxyConfig) -> dict[str, Any]:
    c = cfg.calibrators
    return {"ids": c.ids, "ds9": c.ds9, "ds9_target": c.ds9_target, "ds9_mark": c.ds9_mark}


def _cal_inputs(cfg: GalaxyConfig) -> dict[str, Path]:
    return {"ids_file": cfg.calibrators.file} if cfg.calibrators.file is not None else {}


def _cal_work(ctx: Context) -> dict[str, Any]:
    import xrbid

    from ..tables import read_ids

    cfg = ctx.cfg
    # the xray step's one row per source when it ran now (the same call on the same table)
    unique = ctx.data.get("xray_unique")
    if unique is None:
        unique = xrbid.unique_sources(ctx.get("xray"))
    c = cfg.calibrators
    if c.ds9:
        cal = _pick_in_ds9(ctx, unique)
        how = "picked in DS9"
    else:
        ids = c.ids if c.ids is not None else read_ids(c.file)
        try:
            cal = xrbid.select_sources(unique, ids)
        except InputError as exc:
            where = "[calibrators].ids" if c.ids is not None else f"[calibrators].file ({c.file})"
            raise InputError(f"{where}: {exc}") from None
        how = "from the list" if c.ids is not None else f"from {c.file.name}"
    if len(cal) == 0:
        raise InputError("no calibrators selected; keep at least one in [calibrators]")
    xrbid.write_table(cal, ctx.out("calibrators.ecsv"))
    write_source_regions(cal, ctx.out("calibrators.reg"), 2.0, cfg.outputs.region_calibrators)
    ctx.data["calibrators"] = cal
    return {"calibrators": len(cal), "how": how}


# The DS9 layer's hints name the options of its other callers (Python's start=True and
# target=, the commands' --start and --target); a configuration has ds9_target and no start.
_DS9_HINTS = (
    ("target=NAME (--target NAME)", "[calibrators].ds9_target = NAME"),
    ("as target (--target)", "as [calibrators].ds9_target"),
    (" (or pass start=True, --start on the command line)", ""),
    (" (or pass start=True, --start)", ""),
)


def _in_config_terms(message: str) -> str:
    """A DS9 error message with its option hints put as ``[calibrators]`` keys.

    Parameters
    ----------
    message : str
        The text of a `xrbid.errors.DS9Error`.

    Returns
    -------
    str
        The same text, with ``--target``/``target=`` as ``[calibrators].ds9_target`` and
        the ``--start``/``start=True`` hints left out (a run never starts DS9).
    """
    for hint, key in _DS9_HINTS:
        message = message.replace(hint, key)
    return message


def _pick_in_ds9(ctx: Context, unique: pd.DataFrame) -> pd.DataFrame:
    from ..errors import DS9Error

    try:
        return _pick_in_ds9_now(ctx, unique)
    except DS9Error as exc:  # not found, closed while picking: the hints in the config's terms
        raise DS9Error(_in_config_terms(str(exc))) from None


def _pick_in_ds9_now(ctx: Context, unique: pd.DataFrame) -> pd.DataFrame:
    from ..ds9 import DS9
    from ..ds9.workflows import draw_calibrators, picked_calibrators

    c = ctx.cfg.calibrators
    ds9 = DS9(target=c.ds9_target, start=False)
    if ctx.confirm is None:
        raise InputError(
            "[calibrators].ds9 = true needs an interactive run (a terminal) to wait while you "
            "pick; run `xrbid run` in a terminal, or list the calibrators with ids = [...]"
        )
    drawn = draw_calibrators(ds9, unique)
    ctx.confirm(
        f"{len(drawn)} candidate calibrators are drawn in DS9; mark the ones to keep "
        f"({c.ds9_mark}) and press Enter"
    )
    return picked_calibrators(ds9, unique, mark=c.ds9_mark)


def _cal_load(ctx: Context) -> pd.DataFrame:
    import xrbid

    return xrbid.read_table(ctx.existing("calibrators.ecsv"), required=["source_id", "ra", "dec"])


CALIBRATORS = Step(
    "calibrators",
    "calibrators",
    ("xray",),
    _cal_work,
    lambda cfg: ["calibrators.ecsv", "calibrators.reg"],
    _cal_load,
    _cal_params,
    _cal_inputs,
    enabled=has_xray,
)
