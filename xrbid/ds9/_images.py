"""Images in a DS9 session: load a FITS file (or one extension of it), its WCS and shape."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Literal

from ..errors import DS9Error, InputError
from ._checks import format_angle, off_image_by
from ._common import _DS9CommandError, ds9_word


class ImagesMixin:
    """The image methods of :class:`~xrbid.ds9.DS9` (they talk through its ``get``/``set``)."""

    _wcs_cache: dict[str, Any]

    def open_image(self, path: str | os.PathLike, frame: Literal["new", "current"] = "new") -> int:
        """Load a FITS image and return the number of the frame that shows it.

        Parameters
        ----------
        path : path
            The FITS file.
        frame : {"new", "current"}
            ``new``: a new frame, except when the current frame shows no image (as in a DS9
            just started), which is used; ``current``: replace the image of the current frame.

        Raises
        ------
        InputError
            The file does not exist, or its path has characters DS9 cannot take.
        DS9Error
            DS9 cannot load it (not FITS, no image); a frame made for it is removed again.

        Examples
        --------
        >>> ds9.open_image("testdata/hst-wfpc2-abell478/a478hst-cutout.fits")  # doctest: +SKIP
        1
        """
        if frame not in ("new", "current"):
            raise InputError(f"frame must be 'new' or 'current', not {frame!r}")
        path = _image_path(path)
        made_frame = False
        if not self.frames() or (frame == "new" and self.image_file()):
            self.set("frame new")
            made_frame = True
        number = self.current_frame()
        try:
            self.set(f"file {ds9_word(path, 'image path')}")
        except _DS9CommandError as exc:
            if made_frame:
                self.set("frame delete")
            raise DS9Error(f"DS9 could not load {path}: {exc}; is it a FITS image?") from None
        except InputError:  # a name the transport cannot carry: refused before it was sent
            if made_frame:
                self.set("frame delete")
            raise
        return number

    def image_file(self) -> str:
        """The file shown in the current frame (``""`` when there is no frame or no image)."""
        if not self.frames():
            return ""  # DS9 8.4 leaves "get file" unanswered over SAMP when there is no frame
        return self.get("file")

    def has_celestial_wcs(self) -> bool:
        """Whether the image in the current frame has a celestial WCS DS9 can use."""
        return bool(self.get("pan wcs fk5 degrees").strip())

    def _require_image(self, doing: str) -> None:
        if not self.frames():
            raise DS9Error(f"DS9 has no frame and no image: open an image before {doing}")
        if not self.image_file():
            raise DS9Error(f"no image in DS9 frame {self.current_frame()}: open one before {doing}")

    def _require_wcs(self, doing: str) -> None:
        self._require_image(doing)
        if not self.has_celestial_wcs():
            raise DS9Error(
                f"the image in DS9 frame {self.current_frame()} ({self.image_file()}) has no "
                f"celestial WCS, so {doing} at RA/Dec is impossible; use an image with a sky WCS"
            )

    def image_wcs(self):
        """The celestial WCS (astropy) and the (rows, columns) shape of the image in the current
        frame, from the FITS header DS9 shows (read once per frame and file)."""
        from astropy.io import fits
        from astropy.wcs import WCS

        key = (self.current_frame(), self.image_file())
        if self._wcs_cache.get("key") != key:
            header = fits.Header.fromstring(self.get("fits header"), sep="\n")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # e.g. non-standard keywords of old HST headers
                wcs = WCS(header).celestial
            shape = (int(self.get("fits height")), int(self.get("fits width")))
            self._wcs_cache = {"key": key, "value": (wcs, shape)}
        return self._wcs_cache["value"]

    def _require_on_image(self, ra: float, dec: float, doing: str) -> None:
        wcs, shape = self.image_wcs()
        off = off_image_by(wcs, shape, ra, dec)
        if off is not None:
            raise InputError(
                f"cannot {doing} RA, Dec {ra:.6f} {dec:+.6f}: it is off the image in DS9 frame "
                f"{self.current_frame()} ({Path(self.image_file()).name}) by "
                f"{format_angle(off)}; give a position on the image"
            )


def _image_path(path: str | os.PathLike) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"{p}: no such file; check the path")
    if p.is_dir():
        raise InputError(f"{p}: is a folder, expected a FITS image")
    p = p.resolve()
    ds9_word(p, "image path")  # refused before any frame is made
    return p
