"""The galaxy configuration of ``xrbid run``: one TOML file, validated.

A configuration is read with the standard library's `tomllib` and validated with pydantic.
Any problem (an unknown key, a wrong type, a file that does not exist, an angle that is not
an angle) is one `~xrbid.errors.InputError` line naming the key path (``[alignment].max_sep``)
and what is allowed there. Relative paths are relative to the configuration file's folder.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from ..errors import InputError
from ..photometry.image_spec import ImageSpec, parse_image_spec
from .template import file_stem, template

__all__ = [
    "GalaxyConfig",
    "ImageSpec",
    "file_stem",
    "load_config",
    "parse_image_spec",
    "template",
]

# Angles in a configuration: a number (arcsec) or a number with one of these units. Parsed
# here rather than with astropy.units so that reading a configuration (every run, even one
# with nothing to do) does not pay for importing astropy.
_ANGLE = re.compile(
    r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(mas|arcsec|arcmin|deg|\"|')?\s*$"
)
_ARCSEC_PER = {None: 1.0, "mas": 1e-3, "arcsec": 1.0, '"': 1.0, "arcmin": 60.0, "'": 60.0}
_ARCSEC_PER["deg"] = 3600.0


def _angle(value: Any, what: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{what} must be an angle like 2arcsec, not {value!r}")
    if isinstance(value, int | float):
        try:
            arcsec = float(value)
        except OverflowError:  # a TOML integer has no size limit; past a float's, refused below
            arcsec = float("inf")
    else:
        m = _ANGLE.match(str(value))
        if not m:
            raise ValueError(
                f"{what} {value!r} is not an angle; write it like 2arcsec, 0.5arcmin or 1.5 "
                "(arcsec); units: mas, arcsec, arcmin, deg"
            )
        arcsec = float(m.group(1)) * _ARCSEC_PER[m.group(2)]
    if not arcsec > 0 or arcsec == float("inf"):
        raise ValueError(f"{what} must be a positive angle, not {value!r}")
    return arcsec


def _pixels_or_angle(data: Any, key: str, example: str) -> Any:
    """Read ``key = "2pix"`` or ``"0.1arcsec"`` into ``key`` and ``key_unit`` (pix, arcsec)."""
    if not (isinstance(data, dict) and isinstance(data.get(key), str)):
        return data
    text = data[key].strip()
    data = dict(data)
    try:
        if text.endswith("pix"):
            data[key], data[f"{key}_unit"] = float(text[:-3]), "pix"
        else:
            data[key], data[f"{key}_unit"] = _angle(text, key), "arcsec"
    except ValueError:
        units = "" if text.endswith("pix") else " (pix, mas, arcsec, arcmin, deg)"
        raise ValueError(f"{key} {text!r}: write it like {example}{units}") from None
    return data


def _image_spec(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return parse_image_spec(value.strip())
    except InputError as exc:
        raise ValueError(str(exc)) from None


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Galaxy(_Section):
    """``[galaxy]``: which galaxy, where it is and how far."""

    name: str = Field(min_length=1, max_length=80, pattern=r"^[^\x00-\x1f\x7f]+$")
    ra: StrictFloat | None = Field(default=None, ge=0, lt=360, description="centre, deg")
    dec: StrictFloat | None = Field(default=None, ge=-90, le=90, description="centre, deg")
    distance_mpc: StrictFloat | None = Field(default=None, gt=0)
    ebv: StrictFloat | None = Field(default=None, ge=0, description="foreground E(B-V), mag")


class CSCQuery(_Section):
    """``[xray.query]``: a CSC TAP cone search about the galaxy centre."""

    release: Literal["2.1", "2.0"] = "2.1"
    radius: float = 900.0
    offline: StrictBool | None = None
    url: str | None = Field(default=None, pattern=r"^https?://\S+$")

    @field_validator("radius", mode="before")
    @classmethod
    def _radius(cls, v: Any) -> float:
        return _angle(v, "radius")


class XRay(_Section):
    """``[xray]``: the X-ray table, a file or a CSC query."""

    table: Path | None = None
    query: CSCQuery | None = None

    @model_validator(mode="after")
    def _one(self) -> XRay:
        if (self.table is None) == (self.query is None):
            raise ValueError("give table = FILE or a [xray.query] section (one of them)")
        return self


class Calibrators(_Section):
    """``[calibrators]``: the X-ray sources of certain optical counterpart."""

    ids: list[str] | None = None
    file: Path | None = None
    ds9: StrictBool = False
    ds9_target: str | None = None
    ds9_mark: Literal["color", "selected", "delete"] = "color"

    @model_validator(mode="after")
    def _one(self) -> Calibrators:
        given = sum([self.ids is not None, self.file is not None, self.ds9])
        if given != 1:
            raise ValueError("give exactly one of ids = [...], file = FILE or ds9 = true")
        if self.ids is not None and not self.ids:
            raise ValueError("ids is empty; list at least one CSC source name")
        return self


class Detection(_Section):
    """``[optical.detection]``: finding sources on one of the images."""

    filter: str | None = None
    fwhm: StrictFloat = Field(default=2.0, gt=0, allow_inf_nan=False)
    fwhm_unit: Literal["pix", "arcsec"] = "pix"
    threshold: StrictFloat = Field(default=5.0, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _fwhm(cls, data: Any) -> Any:
        return _pixels_or_angle(data, "fwhm", "2pix or 0.1arcsec")


class Optical(_Section):
    """``[optical]``: a source list, or images per filter to detect and measure on."""

    sources: Path | None = None
    images: dict[str, ImageSpec] = Field(default_factory=dict)
    detection: Detection = Field(default_factory=Detection)

    @field_validator("images", mode="before")
    @classmethod
    def _images(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {str(k).upper(): _image_spec(s) for k, s in v.items()}
        return v

    @model_validator(mode="after")
    def _some(self) -> Optical:
        if self.sources is None and not self.images:
            raise ValueError("give sources = FILE or an [optical.images] table of FILTER = PATH")
        if self.detection.filter is not None and self.detection.filter.upper() not in self.images:
            raise ValueError(
                f"detection filter {self.detection.filter!r} has no image; "
                f"allowed: {', '.join(self.images) or 'none (add [optical.images])'}"
            )
        return self


class Alignment(_Section):
    """``[alignment]``: calibrators against their optical positions."""

    method: Literal["median", "wls"] = "median"
    reference: Path | None = None
    max_sep: float = 2.0
    clip: StrictFloat | None = Field(default=None, gt=0)
    apply: Literal["if-significant", "always", "never"] = "if-significant"

    @field_validator("max_sep", mode="before")
    @classmethod
    def _sep(cls, v: Any) -> float:
        return _angle(v, "max_sep")


class Radii(_Section):
    """``[radii]``: the positional-uncertainty radii (Kim et al. 2007)."""

    fallback: Literal["ellipse", "zero", "none"] = "ellipse"
    clamp: StrictBool = True


class Counterparts(_Section):
    """``[counterparts]``: the search radius of the candidates."""

    radius: Literal["2sigma", "1sigma"] = "2sigma"


class Photometry(_Section):
    """``[photometry]``: aperture photometry of the candidates (with images)."""

    radius: StrictFloat = Field(default=3.0, gt=0, allow_inf_nan=False)
    radius_unit: Literal["pix", "arcsec"] = "pix"
    apcorr: Literal["auto", "none"] | StrictFloat = "auto"
    system: Literal["vega", "ab", "st"] = "vega"
    cmd: list[str] | None = Field(default=None, description="[blue, red] filters of the CMD")

    @model_validator(mode="before")
    @classmethod
    def _radius(cls, data: Any) -> Any:
        return _pixels_or_angle(data, "radius", "3pix or 0.15arcsec")

    @field_validator("cmd")
    @classmethod
    def _cmd(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and len(v) != 2:
            raise ValueError("cmd is [BLUE, RED], two filters, e.g. ['F606W', 'F814W']")
        return [f.upper() for f in v] if v is not None else None


class Classify(_Section):
    """``[classify]``: chance coincidences, match probabilities, donor masses, XRB classes.

    The distance and the foreground E(B-V) are those of ``[galaxy]``.
    """

    models: Path | None = None
    density: StrictFloat | None = Field(default=None, gt=0, description="arcsec^-2")
    annulus: list[StrictFloat] = Field(default=[5.0, 20.0], min_length=2, max_length=2)
    completeness: StrictFloat = Field(default=0.5, gt=0, le=1)
    colour: list[str] | None = Field(default=None, min_length=2, max_length=2)
    mag: str | None = None
    log_age: StrictFloat | None = None
    mass_limits: list[StrictFloat] = Field(default=[3.0, 8.0], min_length=2, max_length=2)


class RegionStyle(_Section):
    """A DS9 region style."""

    color: str = Field(default="green", pattern=r"^[#A-Za-z0-9]+$")
    width: StrictInt = Field(default=1, ge=1, le=10)


class Outputs(_Section):
    """``[outputs]``: where results go and how the region files look."""

    folder: Path = Path("xrbid-output")
    figures: list[Literal["alignment", "cmd", "finders"]] = ["alignment", "cmd", "finders"]
    region_2sigma: RegionStyle = RegionStyle(color="magenta", width=2)
    region_1sigma: RegionStyle = RegionStyle(color="cyan", width=1)
    region_calibrators: RegionStyle = RegionStyle(color="yellow", width=2)
    region_candidates: RegionStyle = RegionStyle(color="green", width=1)


class GalaxyConfig(_Section):
    """A validated galaxy configuration (see `load_config`)."""

    galaxy: Galaxy
    xray: XRay | None = None
    calibrators: Calibrators | None = None
    optical: Optical
    alignment: Alignment = Field(default_factory=Alignment)
    radii: Radii = Field(default_factory=Radii)
    counterparts: Counterparts = Field(default_factory=Counterparts)
    photometry: Photometry = Field(default_factory=Photometry)
    classify: Classify | None = None
    outputs: Outputs = Field(default_factory=Outputs)
    path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _sides(self) -> GalaxyConfig:
        if self.xray is not None and self.calibrators is None:
            raise ValueError("[calibrators] is missing; the alignment needs calibrators")
        if self.xray is None and self.calibrators is not None:
            raise ValueError("[calibrators] without [xray]; add the X-ray table")
        if self.classify is not None and self.xray is None:
            raise ValueError("[classify] needs the X-ray table: add [xray] and [calibrators]")
        if self.classify is not None and self.classify.models and not self.galaxy.distance_mpc:
            raise ValueError("[classify].models needs the distance: add distance_mpc to [galaxy]")
        if self.xray is None and not self.optical.images:
            raise ValueError("without [xray] there is only photometry to do: add [optical.images]")
        return self

    @property
    def name(self) -> str:
        """The galaxy's name."""
        return self.galaxy.name

    @property
    def output_dir(self) -> Path:
        """The output folder (absolute)."""
        return self.outputs.folder


_PATH_KEYS = [
    ("xray", "table"),
    ("calibrators", "file"),
    ("optical", "sources"),
    ("alignment", "reference"),
    ("classify", "models"),
]


def _where(loc: tuple) -> str:
    parts = [str(p) for p in loc if not str(p).startswith(("function-", "literal", "union"))]
    parts = [p for p in parts if p not in ("float", "str", "int", "constrained-str")]
    if not parts:
        return "the file"
    section = [p for p in parts[:-1] if not p.isdigit()]
    key = parts[-1]
    return f"[{'.'.join(section)}].{key}" if section else f"[{key}]"


def _allowed_keys(loc: tuple) -> str:
    model: Any = GalaxyConfig
    for p in loc[:-1]:
        field = model.model_fields.get(str(p)) if hasattr(model, "model_fields") else None
        if field is None:
            return ""
        ann = field.annotation
        for cand in getattr(ann, "__args__", (ann,)):
            if isinstance(cand, type) and issubclass(cand, BaseModel):
                model = cand
                break
        else:
            return ""
    names = [n for n in model.model_fields if n != "path"]
    return ", ".join(names)


def _message(err: dict[str, Any]) -> str:
    loc = tuple(err["loc"])
    kind = err["type"]
    where = _where(loc)
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc)
        return f"{where}: unknown key; allowed: {allowed}"
    if kind == "missing":
        return f"{where}: missing; add it"
    msg = err["msg"].removeprefix("Value error, ")
    if not loc:  # a rule across sections: its message names the keys
        return msg
    got = err.get("input")
    if kind.startswith(("literal", "enum")) or kind.endswith(("_type", "_parsing")):
        return f"{where}: {msg} (got {got!r})"
    return f"{where}: {msg}"


def load_config(path: str | os.PathLike) -> GalaxyConfig:
    """Read and validate a galaxy configuration (TOML).

    Paths in the file are resolved against the file's folder, and input files must exist.

    Parameters
    ----------
    path : path-like
        The ``.toml`` file.

    Returns
    -------
    GalaxyConfig

    Raises
    ------
    InputError
        One line: the file and the key path, what is wrong and what is allowed.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such configuration file; check the path") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder; give a .toml configuration file") from None
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))  # a BOM, as Windows editors write
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path}: not a valid TOML file ({exc})") from None
    try:
        cfg = GalaxyConfig.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise InputError(f"{path}: {_message(errors[0])}{more}") from None
    return _resolve(cfg, path)


def _resolve(cfg: GalaxyConfig, path: Path) -> GalaxyConfig:
    base = path.resolve().parent

    def absolute(p: Path) -> Path:
        p = p.expanduser()
        return p if p.is_absolute() else base / p

    def existing(p: Path, where: str) -> Path:
        full = absolute(p).resolve()
        if not full.is_file():
            raise InputError(f"{path}: {where}: file {p} does not exist (looked for {full})")
        return full

    updates: dict[str, Any] = {}
    for section, key in _PATH_KEYS:
        sec = getattr(cfg, section)
        value = getattr(sec, key) if sec is not None else None
        if value is not None:
            new = existing(value, f"[{section}].{key}")
            updates.setdefault(section, {})[key] = new
    if cfg.optical.images:
        updates.setdefault("optical", {})["images"] = {
            f: dataclasses.replace(spec, path=existing(spec.path, f"[optical.images].{f}"))
            for f, spec in cfg.optical.images.items()
        }
    if (
        cfg.xray is not None
        and cfg.xray.query is not None
        and (cfg.galaxy.ra is None or cfg.galaxy.dec is None)
    ):
        raise InputError(
            f"{path}: [xray.query] needs the galaxy centre; add ra and dec (deg) to [galaxy]"
        )
    sections = {
        name: getattr(cfg, name).model_copy(update=changes) for name, changes in updates.items()
    }
    folder = absolute(cfg.outputs.folder).resolve()
    if folder == Path(folder.anchor):
        # a run writes a dozen files and its state folder here, and removes its stale outputs
        raise InputError(
            f"{path}: [outputs].folder is the filesystem root {folder}; give the galaxy a "
            'folder of its own, e.g. folder = "xrbid-output"'
        )
    outputs = cfg.outputs.model_copy(update={"folder": folder})
    return cfg.model_copy(update={**sections, "outputs": outputs, "path": path.resolve()})
