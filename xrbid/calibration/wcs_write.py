"""Write a fitted WCS into a copy of a FITS file, keeping the old WCS as an alternate.

The old WCS stays in the header under the first free alternate letter from ``O``; the input
file is never modified.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from .._io import atomic_output
from ..errors import CalibrationError, InputError

__all__ = ["write_wcs"]

_ALT_KEYS = "OPQRSTUVWXYZABCDEFGHIJKLMN"


_WCS_KEY = re.compile(
    r"^(WCSAXES|CRPIX\d|CRVAL\d|CDELT\d|CUNIT\d|CTYPE\d|PC\d_\d|CD\d_\d|LONPOLE|LATPOLE|"
    r"RADESYS|EQUINOX|WCSNAME)$"
)


_SIP_KEY = re.compile(r"^(A|B|AP|BP)_(ORDER|DMAX|\d+_\d+)$")


def _free_alt_key(header: fits.Header) -> str:
    for key in _ALT_KEYS:
        if f"CTYPE1{key}" not in header and f"WCSNAME{key}" not in header:
            return key
    raise CalibrationError("the header has no free alternate-WCS letter left (A-Z all used)")


def write_wcs(
    image: str | os.PathLike,
    output: str | os.PathLike,
    new_wcs: WCS,
    *,
    ext: int | str = 1,
    history: str | None = None,
    overwrite: bool = False,
) -> str:
    """Write ``new_wcs`` into a copy of ``image``; keep the old WCS as an alternate WCS.

    Parameters
    ----------
    image : path-like
        The FITS file (read only).
    output : path-like
        The copy to write (atomically; an existing file needs ``overwrite``).
    new_wcs : astropy.wcs.WCS
        The corrected WCS.
    ext : int or str
        The extension whose WCS is replaced.
    history : str, optional
        A HISTORY line to add.
    overwrite : bool
        Replace ``output`` if it exists.

    Returns
    -------
    str
        The alternate-WCS letter that holds the old WCS.
    """
    image, output = Path(image), Path(output)
    if image.resolve() == output.resolve():
        raise InputError(f"{output} is the input image; write the corrected copy to a new file")
    with fits.open(image, memmap=False) as hdul:
        hdul = fits.HDUList([h.copy() for h in hdul])
    hdu = hdul[_ext_key(ext)]
    header = hdu.header
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        old = WCS(header, hdul)
    key = _free_alt_key(header)
    old_keyed = old.to_header(relax=True, key=key)
    sip_changed = not _same_sip(old, new_wcs)
    for card in old_keyed.cards:
        if card.keyword.endswith(key) and _WCS_KEY.match(card.keyword[:-1]):
            value = card.value
            if sip_changed and card.keyword.startswith("CTYPE"):
                # SIP coefficients carry no alternate letter: the old polynomial is replaced,
                # so the alternate WCS keeps the old linear solution with a plain projection.
                value = str(value).replace("-SIP", "")
            header[card.keyword] = (value, card.comment)
    header[f"WCSNAME{key}"] = (
        str(header.get("WCSNAME", "")) or "ORIGINAL",
        "WCS before the xrbid astrometric fit",
    )
    for name in list(header.keys()):
        if _WCS_KEY.match(name) or (_SIP_KEY.match(name) and new_wcs.sip is not None):
            del header[name]
    if new_wcs.sip is None and old.sip is not None:
        for name in list(header.keys()):
            if _SIP_KEY.match(name):
                del header[name]
    new_header = new_wcs.to_header(relax=True)
    for card in new_header.cards:
        if _WCS_KEY.match(card.keyword) or _SIP_KEY.match(card.keyword):
            header[card.keyword] = (card.value, card.comment)
    header["WCSNAME"] = ("XRBID-FIT", "WCS fitted by xrbid to a reference catalogue")
    if history:
        header.add_history(history)
    with atomic_output(output, overwrite) as tmp:
        hdul.writeto(tmp, output_verify="silentfix")
    return key


def _same_sip(a: WCS, b: WCS) -> bool:
    if a.sip is None or b.sip is None:
        return a.sip is None and b.sip is None
    return np.array_equal(a.sip.a, b.sip.a) and np.array_equal(a.sip.b, b.sip.b)


def _ext_key(ext: int | str) -> int | str | tuple[str, int]:
    from ..photometry.image_spec import extension_key

    return extension_key(ext)
