"""HST images as photometry sees them: pixels, WCS, and the header numbers that calibrate them.

`load_image` reads a drizzled image (SCI extension or primary), one chip of a multi-extension
file, or one group of a WFPC2 GEIS "waiver" FITS file (per-chip WCS and photometric keywords in
a table extension), and returns an `HSTImage` holding everything later steps need: the data as
float64, a merged header (primary + extension, following the HST ``INHERIT`` convention), the
celestial WCS (or `None` for pixel-only images), filter, exposure time, gain and data unit.

The footprint and user masks (`footprint_mask`, `read_mask`) live in
`xrbid.photometry.image_masks`, sky-to-pixel placement (`world_to_pixel`) in
`xrbid.photometry.image_coords`; both are re-exported here.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from xrbid._io import reading
from xrbid.errors import CalibrationError, InputError, XrbidWarning

from .image_coords import world_to_pixel
from .image_masks import _weight_map, footprint_mask, read_mask
from .image_spec import ImageSpec, extension_key, parse_image_spec

__all__ = [
    "HSTImage",
    "ImageSpec",
    "PixelOnlyWarning",
    "as_image",
    "footprint_mask",
    "load_image",
    "parse_image_spec",
    "read_mask",
    "world_to_pixel",
]

#: Instruments whose pipeline products are calibrated to electrons (gain already applied).
ELECTRON_INSTRUMENTS = frozenset({"ACS", "WFC3", "STIS"})


class PixelOnlyWarning(XrbidWarning):
    """The image has no celestial WCS: positions are pixels only, sky columns are NaN."""


@dataclass
class HSTImage:
    """One 2-D image and the header values that calibrate it.

    Attributes
    ----------
    data : numpy.ndarray
        The pixels as float64 (a private copy; the file is never modified).
    header : astropy.io.fits.Header
        Primary header updated with the extension header (extension wins).
    wcs : astropy.wcs.WCS or None
        Celestial WCS of the pixels, or `None` (pixel-only mode).
    path : str
        Where the image came from (for messages).
    ext : str
        Which part of the file: ``"1"``, ``"SCI,2"``, ``"chip 3"``, ``"primary"``.
    instrument, detector, filter : str
        ``INSTRUME``, ``DETECTOR`` (as text) and the filter name (``F555W``), ``""`` if unknown.
    exptime : float or None
        Exposure time in s (``EXPTIME``), `None` if the header has none.
    gain : float
        Electrons per data unit (1 for ACS/WFC3 products, ``ATODGAIN``/``CCDGAIN`` otherwise).
    is_rate : bool
        True when pixels are a count *rate* (per second), False for counts.
    saturation : float or None
        Pixel value (data units) at or above which a pixel counts as saturated, if known.
    mask : numpy.ndarray of bool or None
        Pixels that hold no data (True): weight 0 in the matching ``WHT`` extension of a
        drizzled image, and the zero-filled (or NaN) area around the footprint that touches the
        image border (`footprint_mask`). NaN/inf pixels are always bad as well.
    """

    data: np.ndarray
    header: fits.Header
    wcs: WCS | None
    path: str = "<array>"
    ext: str = "primary"
    instrument: str = ""
    detector: str = ""
    filter: str = ""
    exptime: float | None = None
    gain: float = 1.0
    is_rate: bool = True
    saturation: float | None = None
    mask: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """(ny, nx) of the data."""
        return self.data.shape  # type: ignore[return-value]

    def bad_pixels(self, mask: np.ndarray | None = None) -> np.ndarray:
        """True where a pixel cannot be used: NaN/inf, outside the footprint, or in ``mask``.

        Raises
        ------
        InputError
            ``mask`` has another shape than the image.
        """
        bad = ~np.isfinite(self.data)
        if self.mask is not None:
            bad |= self.mask
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != self.data.shape:
                raise InputError(
                    f"mask shape {mask.shape} differs from the shape {self.data.shape} of "
                    f"{self.label}"
                )
            bad |= mask
        return bad

    @property
    def label(self) -> str:
        """``path[ext]`` for messages."""
        return f"{self.path}[{self.ext}]"

    @property
    def pixel_scale(self) -> float | None:
        """Mean pixel size in arcsec from the WCS (`None` in pixel-only mode)."""
        if self.wcs is None:
            return None
        from astropy.wcs.utils import proj_plane_pixel_scales

        return float(np.mean(proj_plane_pixel_scales(self.wcs)) * 3600.0)

    @property
    def effective_gain(self) -> float | None:
        """Electrons per unit of pixel value (gain x exptime for rates); `None` if unknown."""
        if not self.is_rate:
            return self.gain
        if self.exptime is None:
            return None
        return self.gain * self.exptime

    def to_rate(self, values: np.ndarray) -> np.ndarray:
        """Convert pixel-value sums to count rates (per second), the unit PHOTFLAM refers to."""
        if self.is_rate:
            return np.asarray(values, dtype=float)
        if self.exptime is None:
            raise CalibrationError(
                f"{self.label}: pixels are counts but the header has no EXPTIME; "
                "pass exptime=... (--exptime) to convert them to a rate"
            )
        return np.asarray(values, dtype=float) / self.exptime

    def sky_to_pixel(self, ra: np.ndarray, dec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """0-based pixel coordinates of sky positions (deg), distortion included.

        Positions that cannot be placed on this image (far outside a distorted WCS, where the
        inversion does not converge, or not finite) come back as NaN; see `world_to_pixel`.
        """
        if self.wcs is None:
            raise InputError(
                f"{self.label} has no celestial WCS: give pixel positions (x, y columns) "
                "instead of ra/dec"
            )
        return world_to_pixel(self.wcs, ra, dec, self.shape)

    def footprint(self) -> tuple[float, float, float]:
        """The sky circle covering the image: centre RA, Dec (deg) and radius (arcsec).

        The centre is the sky position of the central pixel; the radius is the largest
        separation from it of the four corner pixels (distortion included), so a catalogue
        query of that radius around the centre covers the whole image.

        Raises
        ------
        CalibrationError
            If the image has no celestial WCS.
        """
        if self.wcs is None:
            raise CalibrationError(f"{self.label}: the image has no celestial WCS")
        from astropy.coordinates import SkyCoord

        ny, nx = self.data.shape
        corners = np.array([[0, 0], [nx - 1, 0], [0, ny - 1], [nx - 1, ny - 1]], float)
        ra0, dec0 = self.wcs.all_pix2world([[(nx - 1) / 2, (ny - 1) / 2]], 0)[0]
        sky = self.wcs.all_pix2world(corners, 0)
        centre = SkyCoord(ra0, dec0, unit="deg")
        sep = centre.separation(SkyCoord(sky[:, 0], sky[:, 1], unit="deg"))
        return float(ra0), float(dec0), float(sep.arcsec.max())

    def pixel_to_sky(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """RA, Dec (deg) of 0-based pixel coordinates; NaN in pixel-only mode."""
        x = np.asarray(x, float)
        if self.wcs is None:
            nan = np.full(x.shape, np.nan)
            return nan, nan.copy()
        ra, dec = self.wcs.all_pix2world(x, np.asarray(y, float), 0)
        return np.asarray(ra, float) % 360.0, np.asarray(dec, float)


def _filter_name(header: fits.Header) -> str:
    if str(header.get("FILTER", "")).strip():
        return str(header["FILTER"]).strip().upper()
    for pair in (("FILTER1", "FILTER2"), ("FILTNAM1", "FILTNAM2")):
        names = [str(header.get(k, "")).strip().upper() for k in pair]
        names = [n for n in names if n and not n.startswith("CLEAR") and n[0] == "F"]
        if names:
            return "+".join(names)
    return ""


def _is_rate(header: fits.Header, instrument: str) -> bool:
    bunit = str(header.get("BUNIT", "")).strip().upper().replace(" ", "")
    if bunit:
        return "/S" in bunit or "PERSEC" in bunit
    # No BUNIT: drizzled products (D001* keywords) and cutouts without EXPTIME are rates;
    # calibrated single exposures (WFPC2 c0f, ACS/WFC3 flt) are counts.
    if any(k.startswith("D001") for k in header) or "EXPTIME" not in header:
        return True
    return False


def _gain(header: fits.Header, instrument: str, bunit: str) -> float:
    if instrument in ELECTRON_INSTRUMENTS or "ELECTRON" in bunit:
        return 1.0
    for key in ("ATODGAIN", "CCDGAIN", "GAIN"):
        value = header.get(key)
        if isinstance(value, int | float) and value > 0:
            return float(value)
    return 1.0


def _saturation(header: fits.Header, is_rate: bool) -> float | None:
    # The A/D saturation limit (SATURATE, raw DN) applies to un-combined count images; after
    # bias subtraction (DEZERO) the calibrated pixel of a saturated star sits near
    # SATURATE - DEZERO. Rates and combined images have no header limit: pass saturation=.
    if is_rate:
        return None
    sat = header.get("SATURATE")
    if not isinstance(sat, int | float) or sat <= 0:
        return None
    bias = header.get("DEZERO", 0.0)
    bias = float(bias) if isinstance(bias, int | float) else 0.0
    return float(sat) - bias


def _celestial_wcs(header: fits.Header, hdul: fits.HDUList | None, label: str) -> WCS | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        try:
            wcs = WCS(header, fobj=hdul, naxis=2)
        except Exception:  # malformed WCS keywords: treat as no WCS
            wcs = None
    if wcs is None or not wcs.has_celestial:
        warnings.warn(
            f"{label} has no celestial WCS: pixel-only mode (x, y only; ra/dec are NaN)",
            PixelOnlyWarning,
            stacklevel=3,
        )
        return None
    return wcs.celestial


def _pick_hdu(hdul: fits.HDUList, ext: Any) -> tuple[int, str]:
    if ext is not None:
        listing = ", ".join(f"{i}:{h.name}" for i, h in enumerate(hdul))
        try:
            key = extension_key(ext)
        except InputError as exc:  # say what the file has, as for a name it lacks
            raise InputError(f"{hdul.filename()}: {exc}; extensions are {listing}") from None
        try:
            index = hdul.index_of(key)
        except (KeyError, IndexError) as exc:
            raise InputError(
                f"{hdul.filename()}: no extension {ext!r}; extensions are {listing}"
            ) from exc
        # index_of returns an integer key unchecked: an out-of-range number would
        # otherwise surface later as a bare IndexError.
        if not 0 <= index < len(hdul):
            raise InputError(f"{hdul.filename()}: no extension {ext!r}; extensions are {listing}")
        return index, str(ext)
    for i, hdu in enumerate(hdul):
        if hdu.name == "SCI" and hdu.is_image and hdu.data is not None:
            return i, f"SCI,{hdu.ver}"
    for i, hdu in enumerate(hdul):
        if hdu.is_image and hdu.data is not None and hdu.data.ndim == 2:
            return i, "primary" if i == 0 else str(i)
    raise InputError(f"{hdul.filename()}: no 2-D image in any extension")


def _check_complete(hdul: fits.HDUList, path: Path) -> None:
    """Refuse a file shorter than its headers say (an interrupted download or copy).

    Uses each HDU's own ``fileinfo`` (the list's would verify, and silently "fix", header
    cards that cannot be parsed, which must stay errors).
    """
    compression = hdul[0].fileinfo()["file"].compression
    if compression:
        size = _decompressed_size(path, compression)
    else:
        size = os.path.getsize(path)
    for k, hdu in enumerate(hdul):
        end = hdu.fileinfo()["datLoc"] + hdu.size
        if size is None or end > size:
            have = "" if size is None else f" but the file has {size} bytes"
            raise InputError(
                f"{path} is truncated: extension {k} ends at byte {end}{have}; download or "
                "copy the file again"
            )


def _decompressed_size(path: Path, compression: str) -> int | None:
    """Bytes of a compressed file once decompressed; None if the stream ends early."""
    import bz2
    import gzip
    import lzma

    opener = {"gzip": gzip.open, "bzip2": bz2.open, "lzma": lzma.open}.get(compression)
    if opener is None:
        return 1 << 62  # an unknown compression: leave the check to astropy
    try:
        with opener(path, "rb") as f:
            return f.seek(0, os.SEEK_END)
    except (EOFError, OSError):
        return None


def _waiver_table(hdul: fits.HDUList) -> fits.FITS_rec | None:
    for hdu in hdul[1:]:
        if isinstance(hdu, fits.TableHDU | fits.BinTableHDU) and hdu.data is not None:
            names = {n.upper() for n in hdu.columns.names}
            if {"CRVAL1", "CRPIX1", "CD1_1"} <= names:
                return hdu.data
    return None


def load_image(
    path: str | os.PathLike,
    *,
    ext: int | str | None = None,
    chip: int | None = None,
    exptime: float | None = None,
    saturation: float | None = None,
    is_rate: bool | None = None,
    mask: str | os.PathLike | np.ndarray | None = None,
) -> HSTImage:
    """Read one HST image for photometry.

    Parameters
    ----------
    path : path-like
        FITS file (``.fits``, ``.fits.gz``).
    ext : int or str, optional
        Extension to use: an index (``1``), a name (``"SCI"``) or ``"SCI,2"``. By default the
        first ``SCI`` extension, else the first 2-D image (primary included).
    chip : int, optional
        For a WFPC2 GEIS "waiver" file (a data cube of 4 chips plus a table of per-chip WCS and
        photometry keywords): the chip/group to use, 1-4 (default 1).
    exptime : float, optional
        Exposure time (s) overriding ``EXPTIME`` (needed for count images without one).
    saturation : float, optional
        Saturation level in data units, overriding the header-derived one.
    is_rate : bool, optional
        Whether the pixels are a rate (per second); guessed from ``BUNIT`` otherwise.
    mask : path-like or numpy.ndarray of bool, optional
        Pixels to ignore besides those outside the footprint (`footprint_mask`): a boolean
        array, or a FITS image / DS9 region file read with `read_mask`.

    Returns
    -------
    HSTImage

    Raises
    ------
    InputError
        Unreadable file, missing extension, zero or negative exposure time.

    Examples
    --------
    >>> img = load_image("testdata/hst-wfpc2-abell478/a478hst-cutout.fits")  # doctest: +SKIP
    >>> img.filter, img.is_rate, img.ext
    ('F814W', True, 'SCI,1')
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file; check the path")
    try:
        hdul = fits.open(path, memmap=False)
    except OSError as exc:
        raise InputError(f"{path}: not a readable FITS file ({exc})") from exc
    with hdul, warnings.catch_warnings(), reading(path, "FITS image"):
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)
        warnings.filterwarnings("ignore", message="File may have been truncated")
        _check_complete(hdul, path)
        primary = hdul[0]
        table = _waiver_table(hdul)
        if primary.data is not None and primary.data.ndim == 3 and table is not None:
            if ext is not None:
                raise InputError(f"{path} is a GEIS waiver file: choose a group with chip=N")
            nchip = primary.data.shape[0]
            chip = 1 if chip is None else int(chip)
            if not 1 <= chip <= nchip:
                raise InputError(f"{path}: chip must be 1..{nchip}, got {chip}")
            header = primary.header.copy()
            for key in ("NAXIS3", "CTYPE3", "CD3_3", "CD3_1", "CD1_3", "CD2_3", "CD3_2"):
                header.remove(key, ignore_missing=True)
            header["NAXIS"] = 2
            row = table[chip - 1]
            for name in table.columns.names:
                value = row[name]
                value = value.strip() if isinstance(value, str) else value.item()
                header[name.upper()] = value
            data = np.array(primary.data[chip - 1], dtype=float)
            label_ext = f"chip {chip}"
            wcs = _celestial_wcs(header, None, f"{path}[{label_ext}]")
            weight = None
        else:
            if chip is not None:
                raise InputError(f"{path} is not a GEIS waiver file: use ext=, not chip=")
            index, label_ext = _pick_hdu(hdul, ext)
            hdu = hdul[index]
            if hdu.data is None or not hdu.is_image or hdu.data.ndim != 2:
                raise InputError(f"{path}[{label_ext}] is not a 2-D image")
            header = primary.header.copy() if index else fits.Header()
            if index:
                for key in ("SIMPLE", "EXTEND", "NAXIS", "NAXIS1", "NAXIS2", "BITPIX"):
                    header.remove(key, ignore_missing=True)
            header.update(hdu.header)
            data = np.array(hdu.data, dtype=float)
            wcs = _celestial_wcs(hdu.header, hdul, f"{path}[{label_ext}]")
            weight = _weight_map(hdul, index)
    instrument = str(header.get("INSTRUME", "")).strip().upper()
    detector = str(header.get("DETECTOR", "")).strip().upper()
    if exptime is None and "EXPTIME" in header:
        exptime = float(header["EXPTIME"])
    if exptime is not None and not exptime > 0:
        raise InputError(
            f"{path}[{label_ext}]: exposure time is {exptime} s; a zero-length exposure cannot "
            "be photometered (pass exptime=... / --exptime if the header is wrong)"
        )
    bunit = str(header.get("BUNIT", "")).strip().upper()
    rate = _is_rate(header, instrument) if is_rate is None else bool(is_rate)
    gain = _gain(header, instrument, bunit)
    if saturation is None:
        saturation = _saturation(header, rate)
    image = HSTImage(
        data=data,
        header=header,
        wcs=wcs,
        path=str(path),
        ext=label_ext,
        instrument=instrument,
        detector=detector,
        filter=_filter_name(header),
        exptime=exptime,
        gain=gain,
        is_rate=rate,
        saturation=saturation,
        mask=_mask_or_none(footprint_mask(data, weight)),
    )
    if mask is not None:
        user = mask if isinstance(mask, np.ndarray) else read_mask(mask, image)
        image.mask = image.bad_pixels(user) & np.isfinite(data)
    return image


def _mask_or_none(mask: np.ndarray) -> np.ndarray | None:
    return mask if mask.any() else None


def as_image(image: HSTImage | np.ndarray | str | os.PathLike, **kwargs: Any) -> HSTImage:
    """Accept an `HSTImage`, a file or a bare 2-D array (pixel-only, rate, gain 1).

    A file may name its part as the commands take it (``f.fits[2]``, ``f.fits[SCI,2]``,
    ``f.c0f.fits[chip=3]``), read by `parse_image_spec`; ``kwargs`` go to `load_image`.

    Raises
    ------
    InputError
        A malformed ``[...]``, the part named both in brackets and as ``ext=``/``chip=``, or
        any error of `load_image`.
    """
    if isinstance(image, HSTImage):
        return image
    if isinstance(image, np.ndarray):
        if image.ndim != 2:
            raise InputError(f"expected a 2-D image array, got shape {image.shape}")
        if kwargs.get("wcs") is None:
            warnings.warn(
                "image array given without a WCS: pixel-only mode (ra/dec are NaN)",
                PixelOnlyWarning,
                stacklevel=3,
            )
        return HSTImage(
            data=np.asarray(image, dtype=float),
            header=fits.Header(),
            wcs=kwargs.get("wcs"),
            exptime=kwargs.get("exptime"),
            gain=kwargs.get("gain", 1.0),
            is_rate=kwargs.get("is_rate", True),
            saturation=kwargs.get("saturation"),
        )
    spec = parse_image_spec(image)
    given = sorted(k for k in ("ext", "chip") if kwargs.get(k) is not None)
    if spec.options and given:
        raise InputError(
            f"{image}: the extension is given twice, in [...] and as {'/'.join(given)}=; "
            "give it once"
        )
    return load_image(spec.path, **{**kwargs, **spec.options})
