"""Regions in a DS9 session: draw them (sent as data, never as a command), read them back."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from ..errors import DS9Error, InputError, XrbidError
from ._checks import field_mismatch
from ._common import _DS9CommandError


class RegionsMixin:
    """The region methods of :class:`~xrbid.ds9.DS9` (they talk through its ``get``/``set``)."""

    def load_regions(
        self, regions: str | os.PathLike | pd.DataFrame, **format_options: Any
    ) -> None:
        """Draw regions on the current frame.

        Parameters
        ----------
        regions : path, str or pandas.DataFrame
            A region file, region text, or a table (turned into region text by
            :func:`xrbid.regions.format_regions` with ``format_options``, e.g.
            ``radius_column="pu_2sigma", label_column="source_id"``).
        **format_options
            Passed to :func:`~xrbid.regions.format_regions` for a table.

        Raises
        ------
        DS9Error
            No image in the frame, or DS9 rejects the regions (its message is included).

        Examples
        --------
        >>> ds9.load_regions("m101_2sig.reg")  # doctest: +SKIP
        >>> ds9.load_regions(table, radius=2.0, label_column="source_id")  # doctest: +SKIP
        """
        source, text = _region_text(regions, format_options)
        self._require_image("drawing regions")
        elsewhere = self._elsewhere(source, text)
        if elsewhere is not None:  # DS9 would refuse them over XPA and drop them over SAMP
            raise DS9Error(elsewhere)
        try:
            self.set("regions", text)
        except _DS9CommandError as exc:
            raise DS9Error(f"DS9 rejected the regions of {source}: {exc}") from None

    def _elsewhere(self, source: str, text: str) -> str | None:
        """Why sky regions none of which lies on the image cannot be drawn (None when some
        do, when they have no sky positions, or when the image has no sky WCS)."""
        from ..regions import parse_regions

        if not self.has_celestial_wcs():
            return None
        try:
            wcs, shape = self.image_wcs()
            mismatch = field_mismatch(wcs, shape, parse_regions(text, source=source))
        except XrbidError:
            return None  # DS9 says what is wrong with regions the parser cannot read
        if mismatch is None:
            return None
        (c_ra, c_dec), (r_ra, r_dec), apart = mismatch
        return (
            f"the regions of {source} lie outside {Path(self.image_file()).name} (field centre "
            f"{c_ra:.5f} {c_dec:+.5f}, regions centre {r_ra:.5f} {r_dec:+.5f}, {apart:.1f} "
            "arcmin apart): they belong to another field; load the image of their field, or "
            "the regions of this one"
        )

    def regions(self, system: Literal["fk5", "icrs", "image"] = "fk5") -> pd.DataFrame:
        """The regions drawn on the current frame now, as a table (see
        :func:`xrbid.regions.parse_regions`), including what the user added, moved or deleted.

        Parameters
        ----------
        system : {"fk5", "icrs", "image"}
            Coordinates DS9 reports: sky (degrees, arcsec sizes) or image pixels.

        Examples
        --------
        >>> ds9.regions()[["ra", "dec", "radius", "label"]]  # doctest: +SKIP
        """
        return self._read_regions(system, selected=False)

    def selected_regions(self, system: Literal["fk5", "icrs", "image"] = "fk5") -> pd.DataFrame:
        """The regions the user has selected on the current frame (see :meth:`regions`)."""
        return self._read_regions(system, selected=True)

    def _read_regions(self, system: str, selected: bool) -> pd.DataFrame:
        from ..regions import parse_regions

        if system in ("fk5", "icrs"):
            coords = f"-system wcs -sky {system} -skyformat degrees"
        elif system == "image":
            coords = "-system image"
        else:
            raise InputError(f"unknown region system {system!r}; use fk5, icrs or image")
        which = "selected " if selected else ""
        text = self.get(f"regions {which}-format ds9 {coords}")
        return parse_regions(text, source=f"DS9 {self.target.name} frame {self.current_frame()}")

    def delete_regions(self) -> None:
        """Delete every region of the current frame."""
        self.set("regions delete all")


def _region_text(regions: Any, format_options: dict[str, Any]) -> tuple[str, str]:
    from ..regions import format_regions

    if isinstance(regions, pd.DataFrame):
        return "the table", format_regions(regions, **format_options)
    if format_options:
        raise InputError("format options apply to a table; a region file is sent as it is")
    looks_like_path = (
        isinstance(regions, str)
        and "\n" not in regions
        and "(" not in regions
        and (Path(regions).is_file() or Path(regions).suffix.lower() in (".reg", ".ds9"))
    )
    if isinstance(regions, os.PathLike) or looks_like_path:
        path = Path(regions)
        try:
            return str(path), path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            raise InputError(f"{path}: no such region file; check the path") from None
        except IsADirectoryError:
            raise InputError(f"{path}: is a folder, expected a region file") from None
    if isinstance(regions, str):
        return "the region text", regions
    raise InputError(
        f"regions must be a region file, region text or a table, not {type(regions).__name__}"
    )
