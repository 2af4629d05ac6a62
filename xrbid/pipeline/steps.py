"""The steps of ``xrbid run``, each a call of the library's public functions.

A step declares what it needs (earlier steps, input files, parameters) and which files it
writes; `run.py` decides from the manifests (`state.py`) which steps must run. Every step
function reads its inputs through the `Context` (earlier results in memory, or their files
when the earlier step was up to date) and writes its outputs into the staging folder.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import InputError, XrbidWarning
from .config import GalaxyConfig

__all__ = ["STEPS", "Context", "Step", "enabled_steps"]


@dataclass
class Context:
    """What a running step sees: the configuration, where to write, earlier results."""

    cfg: GalaxyConfig
    folder: Path
    staging: Path
    data: dict[str, Any] = field(default_factory=dict)
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    inputs: dict[str, dict[str, str]] = field(default_factory=dict)
    ran: list[str] = field(default_factory=list)
    confirm: Callable[[str], None] | None = None

    def out(self, name: str) -> Path:
        """Where a step writes its output ``name`` (in the staging folder)."""
        return self.staging / name

    def existing(self, name: str) -> Path:
        """An output of an earlier step: the staged one of this run, else the committed one."""
        staged = self.staging / name
        return staged if staged.exists() else self.folder / name

    def get(self, step: str) -> Any:
        """The result of an earlier step (loaded from its outputs if it did not run now)."""
        if step not in self.data:
            self.data[step] = STEPS[step].load(self)
        return self.data[step]


@dataclass(frozen=True)
class Step:
    """One step: its dependencies, inputs, parameters, outputs and the work itself."""

    name: str
    title: str
    needs: tuple[str, ...]
    work: Callable[[Context], dict[str, Any]]
    outputs: Callable[[GalaxyConfig], list[str]]
    load: Callable[[Context], Any]
    params: Callable[[GalaxyConfig], dict[str, Any]] = lambda cfg: {}
    inputs: Callable[[GalaxyConfig], dict[str, Path]] = lambda cfg: {}
    enabled: Callable[[GalaxyConfig], bool] = lambda cfg: True


def _read_positions(path: Path, what: str):
    """ra/dec of an optical list: a DS9 region file (fk5) or a table."""
    if path.suffix.lower() == ".reg":
        from ..regions import read_regions

        regs = read_regions(path)
        if not {"ra", "dec"} <= set(regs.columns) or len(regs) == 0:
            raise InputError(f"{path}: no fk5/icrs regions with sky positions for {what}")
        keep = [c for c in ("ra", "dec", "label") if c in regs.columns]
        return regs[keep].reset_index(drop=True)
    from ..tables import read_table

    return read_table(path, required=["ra", "dec"], what=what)


# ---------------------------------------------------------------------------------------
# xray: the X-ray table (a file or a CSC query)

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
        df = _load_xray(ctx)
    if len(df) == 0:
        raise InputError("the X-ray table has no rows; check [xray]")
    unique = xrbid.unique_sources(df)
    style = cfg.outputs.region_2sigma
    xrbid.write_regions(
        unique,
        ctx.out("xray_sources.reg"),
        radius=10.0,
        color=style.color,
        width=style.width,
        label_column="source_id",
    )
    ctx.data["xray"] = df
    return {"rows": len(df), "sources": len(unique)}


def _load_xray(ctx: Context):
    import xrbid

    cfg = ctx.cfg
    path = cfg.xray.table if cfg.xray.table is not None else ctx.existing("csc.ecsv")
    return xrbid.read_table(
        path,
        required=XRAY_COLUMNS,
        what="xrbid run ([xray].table: a CSC table with names, positions, theta and counts)",
    )


# ---------------------------------------------------------------------------------------
# calibrators


def _cal_params(cfg: GalaxyConfig) -> dict[str, Any]:
    c = cfg.calibrators
    return {"ids": c.ids, "ds9": c.ds9, "ds9_target": c.ds9_target, "ds9_mark": c.ds9_mark}


def _cal_inputs(cfg: GalaxyConfig) -> dict[str, Path]:
    return {"ids_file": cfg.calibrators.file} if cfg.calibrators.file is not None else {}


def _cal_work(ctx: Context) -> dict[str, Any]:
    import xrbid

    from ..tables import read_ids

    cfg = ctx.cfg
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
    style = cfg.outputs.region_calibrators
    xrbid.write_regions(
        cal,
        ctx.out("calibrators.reg"),
        radius=2.0,
        color=style.color,
        width=style.width,
        label_column="source_id",
    )
    ctx.data["calibrators"] = cal
    return {"calibrators": len(cal), "how": how}


def _pick_in_ds9(ctx: Context, unique):
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


def _cal_load(ctx: Context):
    import xrbid

    return xrbid.read_table(ctx.existing("calibrators.ecsv"), required=["source_id", "ra", "dec"])


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
    return {"detect": f, "image": spec.load_options(), **cfg.optical.detection.model_dump()}


def _opt_inputs(cfg: GalaxyConfig) -> dict[str, Path]:
    if cfg.optical.sources is not None:
        return {"sources": cfg.optical.sources}
    return {"image": cfg.optical.images[_detect_filter(cfg)].path}


def _opt_outputs(cfg: GalaxyConfig) -> list[str]:
    return (
        [] if cfg.optical.sources is not None else ["optical_sources.ecsv", "optical_sources.reg"]
    )


def _load_image(cfg: GalaxyConfig, filt: str):
    import xrbid

    spec = cfg.optical.images[filt]
    img = xrbid.load_image(spec.path, **spec.load_options())
    if img.wcs is None:
        raise InputError(
            f"[optical.images].{filt}: {spec} has no sky WCS; xrbid run matches positions on "
            "the sky: give an image with a WCS (e.g. a drizzled _drc/_drz file)"
        )
    return img


def _opt_work(ctx: Context) -> dict[str, Any]:
    import astropy.units as u

    import xrbid

    cfg = ctx.cfg
    if cfg.optical.sources is not None:
        df = _read_positions(cfg.optical.sources, "the optical source list ([optical].sources)")
        ctx.data["optical"] = df
        return {"sources": len(df), "from": cfg.optical.sources.name}
    filt = _detect_filter(cfg)
    det = cfg.optical.detection
    img = _load_image(cfg, filt)
    fwhm = det.fwhm if det.fwhm_unit == "pix" else det.fwhm * u.arcsec
    df = xrbid.detect_sources(img, fwhm=fwhm, threshold_sigma=det.threshold)
    df.attrs = {}
    xrbid.write_table(df, ctx.out("optical_sources.ecsv"))
    xrbid.write_regions(df, ctx.out("optical_sources.reg"), radius=0.3, color="cyan")
    ctx.data["optical"] = df
    return {"sources": len(df), "from": f"detection on {filt}"}


def _opt_load(ctx: Context):
    cfg = ctx.cfg
    if cfg.optical.sources is not None:
        return _read_positions(cfg.optical.sources, "the optical source list")
    import xrbid

    return xrbid.read_table(ctx.existing("optical_sources.ecsv"), required=["ra", "dec"])


# ---------------------------------------------------------------------------------------
# align


def _align_params(cfg: GalaxyConfig) -> dict[str, Any]:
    a = cfg.alignment
    return {**a.model_dump(mode="json", exclude={"reference"}), "plot": _plot(cfg, "alignment")}


def _plot(cfg: GalaxyConfig, name: str) -> bool:
    return name in cfg.outputs.figures


def _align_inputs(cfg: GalaxyConfig) -> dict[str, Path]:
    a = cfg.alignment.reference
    return {"reference": a} if a is not None else {}


def _align_outputs(cfg: GalaxyConfig) -> list[str]:
    plot = ["alignment.png"] if _plot(cfg, "alignment") else []
    return ["alignment.json", "alignment_matched.reg", *plot]


def _align_work(ctx: Context) -> dict[str, Any]:
    import xrbid

    cfg = ctx.cfg
    a = cfg.alignment
    cal = ctx.get("calibrators")
    if a.reference is not None:
        ref = _read_positions(a.reference, "the alignment reference ([alignment].reference)")
    else:
        ref = ctx.get("optical")
    if a.method == "median":
        sol = xrbid.align_median(cal, ref, max_sep=a.max_sep, clip=a.clip)
    else:
        sol = xrbid.align_wls(cal, ref, max_sep=a.max_sep)
    sol.write_json(ctx.out("alignment.json"))
    sol.write_matched_regions(ctx.out("alignment_matched.reg"))
    if _plot(cfg, "alignment"):
        sol.plot_residuals(ctx.out("alignment.png"))
    ctx.data["align"] = sol
    applied = a.apply == "always" or (a.apply == "if-significant" and sol.significant)
    return {
        "method": sol.method,
        "shift_x": sol.shift_x,
        "shift_y": sol.shift_y,
        "std_x": sol.std_x,
        "std_y": sol.std_y,
        "n_used": sol.n_used,
        "n_calibrators": len(cal),
        "significant": bool(sol.significant),
        "applied": bool(applied),
        "flags": [k for k, v in sol.flags.items() if v],
    }


def _align_load(ctx: Context):
    import xrbid

    return xrbid.AlignmentSolution.read_json(ctx.existing("alignment.json"))


# ---------------------------------------------------------------------------------------
# radii: Kim+07 in quadrature with the alignment scatter, on (perhaps shifted) positions


def _radii_work(ctx: Context) -> dict[str, Any]:
    import xrbid

    cfg = ctx.cfg
    sol = ctx.get("align")
    df = ctx.get("xray")
    a = cfg.alignment.apply
    applied = a == "always" or (a == "if-significant" and sol.significant)
    if applied:
        df = xrbid.apply_shift(df, sol, replace=True)
    pu = xrbid.positional_uncertainty(df, sol, fallback=cfg.radii.fallback, clamp=cfg.radii.clamp)
    xrbid.write_table(pu, ctx.out("radii.ecsv"))
    ctx.data["radii"] = pu
    return {
        "rows": len(pu),
        "shift_applied": bool(applied),
        "methods": xrbid.method_counts(pu),
        "sigma_astro": float((sol.std_x**2 + sol.std_y**2) ** 0.5),
    }


def _radii_load(ctx: Context):
    import xrbid

    return xrbid.read_table(ctx.existing("radii.ecsv"))


# ---------------------------------------------------------------------------------------
# best observation per source, and its region files


def _best_work(ctx: Context) -> dict[str, Any]:
    import xrbid

    cfg = ctx.cfg
    best = xrbid.best_observations(ctx.get("radii"))
    s2, s1 = cfg.outputs.region_2sigma, cfg.outputs.region_1sigma
    xrbid.write_regions(
        best,
        ctx.out("best_2sig.reg"),
        radius_column="pu_2sigma",
        unit="arcsec",
        label_column="source_id",
        color=s2.color,
        width=s2.width,
    )
    xrbid.write_regions(
        best,
        ctx.out("best_1sig.reg"),
        radius_column="pu_1sigma",
        unit="arcsec",
        color=s1.color,
        width=s1.width,
    )
    xrbid.write_table(best, ctx.out("best.ecsv"))
    ctx.data["best"] = best
    radius = best["pu_2sigma"].astype(float)
    return {
        "sources": len(best),
        "median_pu_2sigma": float(radius.median()) if radius.notna().any() else None,
        "without_radius": int(radius.isna().sum()),
    }


def _best_load(ctx: Context):
    import xrbid

    return xrbid.read_table(ctx.existing("best.ecsv"))


# ---------------------------------------------------------------------------------------
# counterpart candidates


def _radius_column(cfg: GalaxyConfig) -> str:
    return "pu_2sigma" if cfg.counterparts.radius == "2sigma" else "pu_1sigma"


def _cand_work(ctx: Context) -> dict[str, Any]:
    import xrbid

    cfg = ctx.cfg
    best = ctx.get("best")
    cands = xrbid.find_counterparts(best, ctx.get("optical"), radius_column=_radius_column(cfg))
    s = cfg.outputs.region_candidates
    xrbid.write_counterpart_regions(cands, ctx.out("candidates.reg"), color=s.color)
    xrbid.write_table(cands, ctx.out("candidates.ecsv"))
    ctx.data["counterparts"] = cands
    return {
        "candidates": len(cands),
        "sources_with_candidates": int(cands["source_id"].nunique()),
        "xray_sources": len(best),
        "inside_1sigma": int(cands["inside_1sigma"].sum()) if "inside_1sigma" in cands else None,
    }


def _cand_load(ctx: Context):
    import xrbid

    return xrbid.read_table(ctx.existing("candidates.ecsv"))


# ---------------------------------------------------------------------------------------
# photometry of the candidates (or of the detected sources without an X-ray table) -> CMD


def _phot_params(cfg: GalaxyConfig) -> dict[str, Any]:
    return {
        **cfg.photometry.model_dump(mode="json"),
        "images": {f: s.load_options() for f, s in cfg.optical.images.items()},
        "distance_mpc": cfg.galaxy.distance_mpc,
        "plot": _plot(cfg, "cmd"),
    }


def _phot_inputs(cfg: GalaxyConfig) -> dict[str, Path]:
    return {f"image_{f}": s.path for f, s in cfg.optical.images.items()}


def _phot_outputs(cfg: GalaxyConfig) -> list[str]:
    cmd = ["cmd.png"] if _plot(cfg, "cmd") and len(cfg.optical.images) >= 2 else []
    return ["photometry.ecsv", *cmd]


def _phot_work(ctx: Context) -> dict[str, Any]:
    import math

    import astropy.units as u

    import xrbid

    cfg = ctx.cfg
    p = cfg.photometry
    targets = ctx.get("counterparts") if _has_xray(cfg) else ctx.get("optical")
    images = {f: _load_image(cfg, f) for f in cfg.optical.images}
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
        if p.cmd is not None:
            blue, red = p.cmd
        else:  # the two bluest filters, by pivot wavelength
            order = sorted(images, key=lambda f: float(images[f].header.get("PHOTPLAM", 0.0)))
            blue, red = order[0], order[1]
        try:
            # the system used (AB when a filter has no Vega offset), not the one asked for
            used = {v.get("system") for v in attrs.get("photometry", {}).values()}
            system = used.pop() if len(used) == 1 else p.system
            fig = xrbid.plot_cmd(phot, (blue, red), system=system)
        except InputError as exc:  # nothing to draw: say so instead of an empty plot
            warnings.warn(f"no CMD drawn: {exc}", XrbidWarning, stacklevel=2)
        else:
            xrbid.save_figure(fig, ctx.out("cmd.png"))
    ctx.data["photometry"] = phot
    measured = {
        f: int(phot[f"{f.lower()}_mag"].notna().sum()) for f in images if f"{f.lower()}_mag" in phot
    }
    return {"rows": len(phot), "measured": measured, "zeropoints": str(attrs.get("zeropoints", ""))}


def _phot_load(ctx: Context):
    import xrbid

    return xrbid.read_table(ctx.existing("photometry.ecsv"))


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


def _classify_load(ctx: Context):
    import xrbid

    return xrbid.read_table(ctx.existing("classes.ecsv"))


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
    images = {f: _load_image(cfg, f) for f in names}
    try:
        files = xrbid.write_finder_charts(
            sources, images, ctx.out("finder.png"), cands, distance=cfg.galaxy.distance_mpc
        )
    except InputError as exc:  # e.g. no source on the images: say so, draw nothing
        warnings.warn(f"no finder charts: {exc}", XrbidWarning, stacklevel=2)
        files = []
    return {"charts": len(files), "files": [Path(f).name for f in files]}


def _finders_enabled(cfg: GalaxyConfig) -> bool:
    return _has_xray(cfg) and bool(cfg.optical.images) and _plot(cfg, "finders")


# ---------------------------------------------------------------------------------------
# the report


def _report_work(ctx: Context) -> dict[str, Any]:
    from .report import write_report

    write_report(ctx, ctx.out("report.html"))
    return {}


def _has_xray(cfg: GalaxyConfig) -> bool:
    return cfg.xray is not None


STEPS: dict[str, Step] = {
    s.name: s
    for s in [
        Step(
            "xray",
            "X-ray table",
            (),
            _xray_work,
            _xray_outputs,
            _load_xray,
            _xray_params,
            _xray_inputs,
        ),
        Step(
            "calibrators",
            "calibrators",
            ("xray",),
            _cal_work,
            lambda cfg: ["calibrators.ecsv", "calibrators.reg"],
            _cal_load,
            _cal_params,
            _cal_inputs,
        ),
        Step(
            "optical",
            "optical sources",
            (),
            _opt_work,
            _opt_outputs,
            _opt_load,
            _opt_params,
            _opt_inputs,
        ),
        Step(
            "align",
            "alignment",
            ("calibrators", "optical"),
            _align_work,
            _align_outputs,
            _align_load,
            _align_params,
            _align_inputs,
        ),
        Step(
            "radii",
            "positional uncertainties",
            ("xray", "align"),
            _radii_work,
            lambda cfg: ["radii.ecsv"],
            _radii_load,
            lambda cfg: {**cfg.radii.model_dump(), "apply": cfg.alignment.apply},
        ),
        Step(
            "best",
            "best observations",
            ("radii",),
            _best_work,
            lambda cfg: ["best.ecsv", "best_2sig.reg", "best_1sig.reg"],
            _best_load,
            lambda cfg: {
                "r2": cfg.outputs.region_2sigma.model_dump(),
                "r1": cfg.outputs.region_1sigma.model_dump(),
            },
        ),
        Step(
            "counterparts",
            "counterpart candidates",
            ("best", "optical"),
            _cand_work,
            lambda cfg: ["candidates.ecsv", "candidates.reg"],
            _cand_load,
            lambda cfg: {
                "radius": cfg.counterparts.radius,
                "style": cfg.outputs.region_candidates.model_dump(),
            },
        ),
        Step(
            "photometry",
            "photometry",
            ("counterparts", "optical"),
            _phot_work,
            _phot_outputs,
            _phot_load,
            _phot_params,
            _phot_inputs,
            enabled=lambda cfg: bool(cfg.optical.images),
        ),
        Step(
            "classify",
            "classification",
            ("best", "counterparts", "optical", "photometry"),
            _classify_work,
            lambda cfg: ["classified_candidates.ecsv", "classes.ecsv"],
            _classify_load,
            _classify_params,
            _classify_inputs,
            enabled=lambda cfg: cfg.classify is not None and cfg.xray is not None,
        ),
        Step(
            "finders",
            "finder charts",
            ("best", "counterparts"),
            _finders_work,
            lambda cfg: [],  # one finder_<source>.png per source on the images
            lambda ctx: None,
            lambda cfg: {"distance_mpc": cfg.galaxy.distance_mpc},
            _phot_inputs,
            enabled=_finders_enabled,
        ),
        Step(
            "report",
            "report",
            (),
            _report_work,
            lambda cfg: ["report.html"],
            lambda ctx: None,
            lambda cfg: {"figures": list(cfg.outputs.figures)},
        ),
    ]
}


# Without an X-ray table only the optical side runs (detection -> photometry -> CMD).
for _name in ("xray", "calibrators", "align", "radii", "best", "counterparts"):
    STEPS[_name] = replace(STEPS[_name], enabled=_has_xray)


def enabled_steps(cfg: GalaxyConfig) -> list[Step]:
    """The steps this configuration runs, in order."""
    return [s for s in STEPS.values() if s.enabled(cfg)]
