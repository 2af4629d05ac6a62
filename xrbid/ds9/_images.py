"""Images in a DS9 session: load a FITS file (or one extension of it), its WCS and shape."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..errors import DS9Error, InputError
from ._checks import format_angle, off_image_by
from ._common import _DS9CommandError, ds9_word

if TYPE_CHECKING:
    from ..photometry.image_spec import ImageSpec


class ImagesMixin:
    """The image methods of :class:`~xrbid.ds9.DS9` (they talk through its ``get``/``set``)."""

    _wcs_cache: dict[str, Any]

    def open_image(
        self,
        path: str | os.PathLike | ImageSpec,
        frame: Literal["new", "current"] = "new",
        *,
        ext: int | str | None = None,
        chip: int | None = None,
    ) -> int:
        """Load a FITS image (or one extension of it) and return the number of the frame that
        shows it.

        Parameters
        ----------
        path : path or ImageSpec
            The FITS file, or one extension of it: ``"f.fits[SCI,2]"`` (a name that is not
            itself a file), read by :func:`xrbid.photometry.parse_image_spec` as the commands
            read it, or the `ImageSpec` that function returns.
        frame : {"new", "current"}
            ``new``: a new frame, except when the current frame shows no image (as in a DS9
            just started), which is used; ``current``: replace the image of the current frame.
        ext : int or str, optional
            The extension to show: an index (``1``), a name (``"SCI"``, the first of that
            name) or a name and version (``"SCI,2"``), as :func:`xrbid.photometry.load_image`
            takes it. Default: DS9's choice, the first image in the file.
        chip : int, optional
            A group of a WFPC2 GEIS waiver file: refused, since DS9 shows the chips as one
            cube under one WCS (open the whole file, or give a multi-extension file).

        Raises
        ------
        InputError
            The file does not exist, its path has characters DS9 cannot take, it has no such
            extension or that extension holds no image.
        DS9Error
            DS9 cannot load it (not FITS, no image); a frame made for it is removed again.

        Examples
        --------
        >>> ds9.open_image("testdata/hst-wfpc2-abell478/a478hst-cutout.fits")  # doctest: +SKIP
        1
        >>> ds9.open_image("j94f05bgq_flt.fits", ext="SCI,2")  # doctest: +SKIP
        2
        """
        if frame not in ("new", "current"):
            raise InputError(f"frame must be 'new' or 'current', not {frame!r}")
        path, index = check_image(path, ext=ext, chip=chip)
        word = _file_word(path, index)  # refused before any frame is made
        shown = path if index is None else f"{path}[{index}]"
        made_frame = False
        if not self.frames() or (frame == "new" and self.image_file()):
            self.set("frame new")
            made_frame = True
        number = self.current_frame()
        self._wcs_cache = {}  # another extension of the same file may be loaded over it
        try:
            self.set(f"file {word}")
        except _DS9CommandError as exc:
            if made_frame:
                self.set("frame delete")
            raise DS9Error(f"DS9 could not load {shown}: {exc}; is it a FITS image?") from None
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


def check_image(
    image: str | os.PathLike | ImageSpec,
    *,
    ext: int | str | None = None,
    chip: int | None = None,
) -> tuple[Path, int | None]:
    """The absolute path of an image for DS9 and the index of the extension to show (None:
    DS9's choice), checked before DS9 is asked anything (see :meth:`DS9.open_image`).

    Raises
    ------
    InputError
        No such file, a path DS9 cannot take, no such extension, an extension without an
        image, or a GEIS waiver chip.
    """
    if isinstance(image, str | os.PathLike) and "[" in os.fspath(image):
        if not Path(image).exists():  # "f.fits[SCI,2]", read as the commands read it
            from ..photometry.image_spec import parse_image_spec

            image = parse_image_spec(image)
    # an ImageSpec exists only once its module is imported: the plain-path case stays free
    # of the photometry stack
    spec_module = sys.modules.get("xrbid.photometry.image_spec")
    if spec_module is not None and isinstance(image, spec_module.ImageSpec):
        if ext is not None or chip is not None:
            given = "/".join(k for k, v in (("ext", ext), ("chip", chip)) if v is not None)
            raise InputError(
                f"{image}: the extension is given twice, in [...] and as {given}=; give it once"
            )
        image, ext, chip = image.path, image.ext, image.chip
    path = _image_path(image)
    ds9_word(path, "image path")
    if chip is not None:
        raise InputError(
            f"{path}[chip={chip}]: DS9 cannot show one chip of a GEIS waiver file with its "
            "own WCS (it shows the chips as one cube under one WCS); open the whole file, or "
            "give an extension of a multi-extension file ([1], [SCI,2])"
        )
    return path, None if ext is None else _extension_index(path, ext)


def _extension_index(path: Path, ext: int | str) -> int:
    """The HDU index of extension ``ext`` of ``path``, read by astropy the way
    :func:`xrbid.photometry.load_image` reads it, and checked to hold an image."""
    from astropy.io import fits

    from ..photometry.images import _pick_hdu

    try:
        hdul = fits.open(path)
    except OSError as exc:
        raise InputError(f"{path}: not a readable FITS file ({exc})") from None
    with hdul, warnings.catch_warnings():
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)
        index, _ = _pick_hdu(hdul, ext)
        hdu = hdul[index]
        if not hdu.is_image or hdu.header.get("NAXIS", 0) < 2:
            listing = ", ".join(
                f"{i}:{h.name}"
                for i, h in enumerate(hdul)
                if h.is_image and h.header.get("NAXIS", 0) >= 2
            )
            raise InputError(
                f"{path}[{ext}] holds no image for DS9 to show; its images are {listing or 'none'}"
            )
    return index


def _file_word(path: Path, index: int | None) -> str:
    """``path`` (and its extension) as the one double-quoted word of DS9's ``file`` command.

    The path itself goes through :func:`ds9_word`, which refuses brackets in it; the extension
    is an integer formatted here, so ``name[N]`` is DS9's extension syntax and nothing else.
    """
    word = ds9_word(path, "image path")
    return word if index is None else f'{word[:-1]}[{int(index)}]"'


def _image_path(path: str | os.PathLike) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"{p}: no such file; check the path")
    if p.is_dir():
        raise InputError(f"{p}: is a folder, expected a FITS image")
    return p.resolve()
