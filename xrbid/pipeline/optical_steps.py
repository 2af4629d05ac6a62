"""The optical side of ``xrbid run``: source list or detection, photometry and the CMD,
classification, finder charts."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from .config import GalaxyConfig
from .step import Context, Step
from .step_io import has_xray, load_image, read_positions, table_loader, wants_figure

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CLASSIFY", "FINDERS", "OPTICAL", "PHOTOMETRY"]


def _warn(message: str) -> None:
    from ..errors import XrbidWarning

    warnings.warn(message, XrbidWarning, stacklevel=3)


# ---------------------------------------------------------------------------------------
# optical: a source list, or detection on one image


def _detect_filter(cfg: GalaxyConfig) -> str | None:
    images = cfg.optical.images
    if not images or cfg.optical.sources is not None:
        return None
    return (cfg.optical.detection.filter or next(iter(images))).upper()


def _opt_params(cfg: GalaxyConfig) -> dict[str, Any]:
    f = _detect_filter(cfg)
    if f is None:
        return {}
    spec = cfg.optical.images[f]
    return {"detect": f, "image": spec.options, **cfg.optical.detection.model_dump()}


def _opt_inputs(cfg: GalaxyConfig) -> dict[str, Path]:
    if cfg.optical.sources is not None:
        return {"sources": cfg.optical.sources}
    return {"image": cfg.optical.images[_detect_filter(cfg)].path}


def _opt_outputs(cfg: GalaxyConfig) -> list[str]:
    if cfg.optical.sources is not None:
        return []
    return ["optical_sources.ecsv", "optical_sources.reg"]


def _opt_work(ctx: Context) -> dict[str, Any]:
    cfg = ctx.cfg
    if cfg.optical.sources is not None:
        df = read_positions(cfg.optical.sources, "the optical source list ([optical].sources)")
        ctx.data["optical"] = df
        return {"sources": len(df), "from": cfg.optical.sources.name}
    # detection on an image (astropy.units only here: a source list needs no units)
    import astropy.units as u

    import xrbid

    filt = _detect_filter(cfg)
    det = cfg.optical.detection
    img = load_image(cfg, filt)
    fwhm = det.fwhm if det.fwhm_unit == "pix" else det.fwhm * u.arcsec
    df = xrbid.detect_sources(img, fwhm=fwhm, threshold_sigma=det.threshold)
    df.attrs = {}
    xrbid.write_table(df, ctx.out("optical_sources.ecsv"))
    xrbid.write_regions(df, ctx.out("optical_sources.reg"), radius=0.3, color="cyan")
    ctx.data["optical"] = df
    return {"sources": len(df), "from": f"detection on {filt}"}


def _opt_load(ctx: Context) -> pd.DataFrame:
    cfg = ctx.cfg
    if cfg.optical.sources is not None:
        return read_positions(cfg.optical.sources, "the optical source list")
    import xrbid

    return xrbid.read_table(ctx.existing("optical_sources.ecsv"), required=["ra", "dec"])


OPTICAL = Step(
    "optical",
    "optical sources",
    (),
    _opt_work,
    _opt_outputs,
    _opt_load,
    _opt_params,
    _opt_inputs,
)


# ---------------------------------------------------------------------------------------
# photometry of the candidates (or of the detected sources without an X-ray table) -> CMD


def _phot_params(cfg: GalaxyConfig) -> dict[str, Any]:
    return {
        **cfg.photometry.model_dump(mode="json"),
        "images": {f: s.options for f, s in cfg.optical.images.items()},
        "distance_mpc": cfg.galaxy.distance_mpc,
        "plot": wants_figure(cfg, "cmd"),
    }


def _image_inputs(cfg: GalaxyConfig) -> dict[str, Path]:
    return {f"image_{f}": s.path for f, s in cfg.optical.images.items()}


def _phot_outputs(cfg: GalaxyConfig) -> list[str]:
    cmd = ["cmd.png"] if wants_figure(cfg, "cmd") and len(cfg.optical.images) >= 2 else []
    return ["photometry.ecsv", *cmd]


def _phot_work(ctx: Context) -> dict[str, Any]:
    import math

    import astropy.units as u

    import xrbid

    cfg = ctx.cfg
    p = cfg.photometry
    targets = ctx.get("counterparts") if has_xray(cfg) else ctx.get("optical")
    images = {f: load_image(cfg, f) for f in cfg.optical.images}
    radius = p.radius if p.radius_unit == "pix" else p.radius * u.arcsec
    dm = 5 * math.log10(cfg.galaxy.distance_mpc * 1e5) if cfg.galaxy.distance_mpc else None
    phot = xrbid.photometer_counterparts(
        targets,
        images,
        radius=radius,
        apcorr=None if p.apcorr == "none" else p.apcorr,
        system=p.system,
        distance_modulus=dm,
    )
    attrs = phot.attrs
    phot.attrs = {}
    xrbid.write_table(phot, ctx.out("photometry.ecsv"))
    if "cmd.png" in _phot_outputs(cfg):
        _draw_cmd(ctx, phot, images, attrs)
    ctx.data["photometry"] = phot
    measured = {
        f: int(phot[f"{f.lower()}_mag"].notna().sum()) for f in images if f"{f.lower()}_mag" in phot
    }
    return {"rows": len(phot), "measured": measured, "zeropoints": str(attrs.get("zeropoints", ""))}


def _draw_cmd(ctx: Context, phot: pd.DataFrame, images: dict[str, Any], attrs: dict) -> None:
    from ..figures._jobs import cmd_job

    p = ctx.cfg.photometry
    if p.cmd is not None:
        blue, red = p.cmd
    else:  # the two bluest filters, by pivot wavelength
        order = sorted(images, key=lambda f: float(images[f].header.get("PHOTPLAM", 0.0)))
        blue, red = order[0], order[1]
    # the system used (AB when a filter has no Vega offset), not the one asked for
    used = {v.get("system") for v in attrs.get("photometry", {}).values()}
    system = used.pop() if len(used) == 1 else p.system
    try:
        job = cmd_job(phot, (blue, red), system=system)
    except InputError as exc:  # nothing to draw: say so instead of an empty plot
        _warn(f"no CMD drawn: {exc}")
    else:
        ctx.figure("cmd.png", *job)


PHOTOMETRY = Step(
    "photometry",
    "photometry",
    ("counterparts", "optical"),
    _phot_work,
    _phot_outputs,
    table_loader("photometry.ecsv"),
    _phot_params,
    _image_inputs,
    enabled=lambda cfg: bool(cfg.optical.images),
    draws=lambda cfg: "cmd.png" in _phot_outputs(cfg),
)


# ---------------------------------------------------------------------------------------
# classification: chance coincidences, probabilities, donor masses, XRB classes


def _classify_params(cfg: GalaxyConfig) -> dict[str, Any]:
    c = cfg.classify
    return {
        **c.model_dump(mode="json", exclude={"models"}),
        "distance_mpc": cfg.galaxy.distance_mpc,
        "ebv": cfg.galaxy.ebv,
    }


def _classify_inputs(cfg: GalaxyConfig) -> dict[str, Path]:
    return {"models": cfg.classify.models} if cfg.classify.models is not None else {}


def _classify_work(ctx: Context) -> dict[str, Any]:
    import xrbid

    cfg = ctx.cfg
    c = cfg.classify
    cands = ctx.get("photometry") if cfg.optical.images else ctx.get("counterparts")
    res = xrbid.classify_candidates(
        cands,
        models=c.models,
        distance_pc=cfg.galaxy.distance_mpc * 1e6 if cfg.galaxy.distance_mpc else None,
        ebv=cfg.galaxy.ebv or 0.0,
        optical=None if c.density is not None else ctx.get("optical"),
        density=c.density,
        xray=ctx.get("best"),
        annulus=(c.annulus[0], c.annulus[1]),
        completeness=c.completeness,
        colour=(c.colour[0], c.colour[1]) if c.colour else None,
        mag=c.mag,
        log_age=c.log_age,
        mass_limits=(c.mass_limits[0], c.mass_limits[1]),
    )
    res.candidates.attrs = {}
    res.sources.attrs = {}
    xrbid.write_table(res.candidates, ctx.out("classified_candidates.ecsv"))
    xrbid.write_table(res.sources, ctx.out("classes.ecsv"))
    ctx.data["classify"] = res
    summary = res.to_dict()
    return {
        "parts": list(summary.get("steps", [])),
        "sources": summary["sources"],
        "xrb_classes": summary["xrb_classes"],
    }


CLASSIFY = Step(
    "classify",
    "classification",
    ("best", "counterparts", "optical", "photometry"),
    _classify_work,
    lambda cfg: ["classified_candidates.ecsv", "classes.ecsv"],
    table_loader("classes.ecsv"),
    _classify_params,
    _classify_inputs,
    enabled=lambda cfg: cfg.classify is not None and cfg.xray is not None,
)


# ---------------------------------------------------------------------------------------
# finder charts of the X-ray sources with candidates, on the images


def _finders_work(ctx: Context) -> dict[str, Any]:
    import xrbid

    cfg = ctx.cfg
    best, cands = ctx.get("best"), ctx.get("counterparts")
    sources = best[best["source_id"].isin(set(cands["source_id"]))]
    if len(sources) == 0:
        return {"charts": 0, "files": []}
    # three filters make a colour stamp; otherwise the first image in grey
    names = list(cfg.optical.images)
    names = names if len(names) == 3 else names[:1]
    images = {f: load_image(cfg, f) for f in names}
    try:
        files = xrbid.write_finder_charts(
            sources, images, ctx.out("finder.png"), cands, distance=cfg.galaxy.distance_mpc
        )
    except InputError as exc:  # e.g. no source on the images: say so, draw nothing
        _warn(f"no finder charts: {exc}")
        files = []
    return {"charts": len(files), "files": [Path(f).name for f in files]}


FINDERS = Step(
    "finders",
    "finder charts",
    ("best", "counterparts"),
    _finders_work,
    lambda cfg: [],  # one finder_<source>.png per source on the images
    params=lambda cfg: {"distance_mpc": cfg.galaxy.distance_mpc},
    inputs=_image_inputs,
    enabled=lambda cfg: has_xray(cfg) and bool(cfg.optical.images) and wants_figure(cfg, "finders"),
)
