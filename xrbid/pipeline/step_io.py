"""What several steps share: reading optical positions and images, the region files they write.

Everything heavy (pandas, astropy, photutils) is imported inside the functions, so that a run
with nothing to recompute never loads it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from .config import GalaxyConfig, RegionStyle

if TYPE_CHECKING:
    import pandas as pd

    from .step import Context

__all__ = [
    "has_xray",
    "load_image",
    "read_positions",
    "table_loader",
    "wants_figure",
    "write_source_regions",
]


def has_xray(cfg: GalaxyConfig) -> bool:
    """Whether the configuration has an X-ray side (without one, only photometry runs)."""
    return cfg.xray is not None


def wants_figure(cfg: GalaxyConfig, name: str) -> bool:
    """Whether ``[outputs].figures`` asks for the figure ``name``."""
    return name in cfg.outputs.figures


def read_positions(path: Path, what: str) -> pd.DataFrame:
    """``ra``/``dec`` (and ``label``) of an optical list: a DS9 region file (fk5) or a table.

    Raises
    ------
    InputError
        A region file without sky positions, or a table without ``ra``/``dec``. Regions in
        image coordinates are left out, as `xrbid.source_tables.read_table_or_regions` does.
    """
    from ..source_tables import read_table_or_regions

    # the same rule as the step commands: regions in image coordinates have no sky position
    # and are left out (a file with none on the sky is an error), instead of reaching the
    # matching as rows without RA/Dec
    if path.suffix.lower() == ".reg":
        regs = read_table_or_regions(path, what=f"{path} ({what})")
        if not {"ra", "dec"} <= set(regs.columns) or len(regs) == 0:
            raise InputError(f"{path}: no fk5/icrs regions with sky positions for {what}")
        keep = [c for c in ("ra", "dec", "label") if c in regs.columns]
        return regs[keep].reset_index(drop=True)
    return read_table_or_regions(path, what=what, required=["ra", "dec"])


def load_image(cfg: GalaxyConfig, filt: str) -> Any:
    """The image of filter ``filt`` (`xrbid.photometry.HSTImage`); it must have a sky WCS.

    Raises
    ------
    InputError
        The image has no celestial WCS.
    """
    import xrbid

    spec = cfg.optical.images[filt]
    img = xrbid.load_image(spec.path, **spec.options)
    if img.wcs is None:
        raise InputError(
            f"[optical.images].{filt}: {spec} has no sky WCS; xrbid run matches positions on "
            "the sky: give an image with a WCS (e.g. a drizzled _drc/_drz file)"
        )
    return img


def write_source_regions(df: pd.DataFrame, path: Path, radius: float, style: RegionStyle) -> None:
    """Circles of ``radius`` arcsec about each row, labelled with its ``source_id``."""
    import xrbid

    xrbid.write_regions(
        df,
        path,
        radius=radius,
        color=style.color,
        width=style.width,
        label_column="source_id",
    )


def table_loader(name: str) -> Callable[[Context], pd.DataFrame]:
    """``load(ctx)`` of a step whose result is its one output table ``name``."""

    def load(ctx: Context) -> pd.DataFrame:
        from ..tables import read_table

        return read_table(ctx.existing(name))

    return load
