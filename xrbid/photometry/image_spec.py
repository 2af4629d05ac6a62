"""The one reader of image arguments: ``IMAGE``, ``IMAGE[2]``, ``IMAGE[SCI,2]``, ``[chip=N]``."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xrbid.errors import InputError

__all__ = ["ImageSpec", "extension_key", "parse_image_spec"]


@dataclass(frozen=True)
class ImageSpec:
    """An image file and which part of it: ``file.fits``, ``[2]``, ``[SCI,2]``, ``[chip=3]``.

    Attributes
    ----------
    path : pathlib.Path
        The FITS file.
    ext : int or str or None
        Extension index (``2``) or name (``"SCI"``, ``"SCI,2"``), as `load_image` takes it.
    chip : int or None
        Group of a WFPC2 GEIS waiver file (1-4).
    """

    path: Path
    ext: int | str | None = None
    chip: int | None = None

    def __str__(self) -> str:
        if self.chip is not None:
            return f"{self.path}[chip={self.chip}]"
        return f"{self.path}[{self.ext}]" if self.ext is not None else str(self.path)

    @property
    def options(self) -> dict[str, Any]:
        """The keywords of `load_image` this spec sets (``ext``, ``chip``)."""
        out: dict[str, Any] = {}
        if self.ext is not None:
            out["ext"] = self.ext
        if self.chip is not None:
            out["chip"] = self.chip
        return out


_IMAGE_SPEC = re.compile(r"^(?P<path>.+?)\[(?P<inner>[^\[\]]*)\]$")
_CHIP = re.compile(r"chip\s*=\s*(?P<n>\S*)", re.IGNORECASE)
# ASCII only: str.isdigit() and \d also take digits such as '²' or '١', which int() refuses or
# reads as another number; an index or version has at most 9 digits (int() refuses a number of
# more than 4300 digits, and no FITS file has a billion extensions)
_NUMBER = re.compile(r"[0-9]{1,9}")
_EXTNAME = re.compile(r"(?P<name>[A-Za-z][A-Za-z0-9_-]*)(\s*,\s*(?P<ver>[0-9]{1,9}))?")


def extension_key(ext: int | str) -> int | str | tuple[str, int]:
    """An extension as astropy's ``HDUList.index_of`` takes it: ``2`` or ``"2"`` -> ``2``,
    ``"SCI"`` -> ``"SCI"``, ``"SCI,2"`` -> ``("SCI", 2)``.

    The one reader of extension values (from ``IMAGE[ext]``, ``ext=`` or ``--ext``).

    Raises
    ------
    InputError
        ``ext`` is none of these forms (a negative index, ``SCI,2,3``, ``SCI,abc`` ...).
    """
    if isinstance(ext, int) and not isinstance(ext, bool):
        if ext < 0:
            raise InputError(f"no extension {ext}: an index is 0 or more")
        return ext
    text = str(ext).strip()
    if _NUMBER.fullmatch(text):
        return int(text)
    match = _EXTNAME.fullmatch(text) if isinstance(ext, str) else None
    if match is None:
        raise InputError(
            f"cannot read {ext!r} as an extension; give an index (1), a name (SCI) or a name "
            "and version (SCI,2)"
        )
    return match["name"] if match["ver"] is None else (match["name"], int(match["ver"]))


def _exists(text: str) -> bool:
    """Whether a file of that name exists; False for a name the system cannot take (too
    long, a NUL byte), which no file has."""
    try:
        return Path(text).exists()
    except (OSError, ValueError):
        return False


def parse_image_spec(spec: str | os.PathLike) -> ImageSpec:
    """Split ``IMAGE[ext]`` into the file and the part of it to use.

    The one reader of the image arguments of every command: ``file.fits``, ``file.fits[2]``
    (extension index), ``file.fits[SCI]`` or ``file.fits[SCI,2]`` (name and version), and
    ``file.c0f.fits[chip=3]`` (WFPC2 GEIS waiver group). A file whose own name ends in
    brackets is taken as it is.

    Parameters
    ----------
    spec : str or path-like
        What the user typed.

    Returns
    -------
    ImageSpec

    Raises
    ------
    InputError
        If the part in brackets is none of the forms above.

    Examples
    --------
    >>> parse_image_spec("f555w.fits[SCI,2]")
    ImageSpec(path=PosixPath('f555w.fits'), ext='SCI,2', chip=None)
    >>> parse_image_spec("u2j80101t.c0f.fits[chip=3]").options
    {'chip': 3}
    """
    text = os.fspath(spec)
    match = _IMAGE_SPEC.match(text)
    if match is None or _exists(text):
        return ImageSpec(Path(text))
    path, inner = Path(match.group("path")), match.group("inner").strip()
    chip = _CHIP.fullmatch(inner)
    if chip is not None:
        if not _NUMBER.fullmatch(chip.group("n")) or int(chip.group("n")) < 1:
            raise InputError(
                f"{text}: [chip=N] needs a group number N of 1 or more, e.g. {path}[chip=2]"
            )
        return ImageSpec(path, chip=int(chip.group("n")))
    if _NUMBER.fullmatch(inner):
        return ImageSpec(path, ext=int(inner))
    if _EXTNAME.fullmatch(inner):
        return ImageSpec(path, ext=inner)
    raise InputError(
        f"{text}: cannot read [{inner}] as an extension; write {path}[1], {path}[SCI], "
        f"{path}[SCI,2] or {path}[chip=N]"
    )
