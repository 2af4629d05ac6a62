"""The positional chain of ``xrbid run``: alignment, radii, best observations, candidates."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import GalaxyConfig
from .step import Context, Step
from .step_io import has_xray, read_positions, table_loader, wants_figure

if TYPE_CHECKING:
    from ..align import AlignmentSolution

__all__ = ["ALIGN", "BEST", "COUNTERPARTS", "RADII", "shift_applied"]


def shift_applied(cfg: GalaxyConfig, significant: bool) -> bool:
    """Whether ``[alignment].apply`` shifts the X-ray positions for a solution."""
    a = cfg.alignment.apply
    return a == "always" or (a == "if-significant" and bool(significant))


# ---------------------------------------------------------------------------------------
# align: calibrators against their optical positions


def _align_params(cfg: GalaxyConfig) -> dict[str, Any]:
    a = cfg.alignment
    plot = wants_figure(cfg, "alignment")
    return {**a.model_dump(mode="json", exclude={"reference"}), "plot": plot}


def _align_inputs(cfg: GalaxyConfig) -> dict[str, Path]:
    a = cfg.alignment.reference
    return {"reference": a} if a is not None else {}


def _align_outputs(cfg: GalaxyConfig) -> list[str]:
    plot = ["alignment.png"] if wants_figure(cfg, "alignment") else []
    return ["alignment.json", "alignment_matched.reg", *plot]


def _align_work(ctx: Context) -> dict[str, Any]:
    import xrbid

    cfg = ctx.cfg
    a = cfg.alignment
    cal = ctx.get("calibrators")
    if a.reference is not None:
        ref = read_positions(a.reference, "the alignment reference ([alignment].reference)")
    else:
        ref = ctx.get("optical")
    if a.method == "median":
        sol = xrbid.align_median(cal, ref, max_sep=a.max_sep, clip=a.clip)
    else:
        sol = xrbid.align_wls(cal, ref, max_sep=a.max_sep)
    sol.write_json(ctx.out("alignment.json"))
    sol.write_matched_regions(ctx.out("alignment_matched.reg"))
    if wants_figure(cfg, "alignment"):
        from ..figures._jobs import alignment_job

        ctx.figure("alignment.png", *alignment_job(sol))
    ctx.data["align"] = sol
    return {
        "method": sol.method,
        "shift_x": sol.shift_x,
        "shift_y": sol.shift_y,
        "std_x": sol.std_x,
        "std_y": sol.std_y,
        "n_used": sol.n_used,
        "n_calibrators": len(cal),
        # why the others were not used: the WLS input selection, no optical match
        "left_out": {
            **{k: int(n) for k, n in sol.selection.items() if n},
            **({"unmatched": len(sol.unmatched)} if len(sol.unmatched) else {}),
        },
        "significant": bool(sol.significant),
        "applied": shift_applied(cfg, sol.significant),
        "flags": [k for k, v in sol.flags.items() if v],
    }


def _align_load(ctx: Context) -> AlignmentSolution:
    import xrbid

    return xrbid.AlignmentSolution.read_json(ctx.existing("alignment.json"))


ALIGN = Step(
    "align",
    "alignment",
    ("calibrators", "optical"),
    _align_work,
    _align_outputs,
    _align_load,
    _align_params,
    _align_inputs,
    enabled=has_xray,
    draws=lambda cfg: wants_figure(cfg, "alignment"),
)


# ---------------------------------------------------------------------------------------
# radii: Kim+07 in quadrature with the alignment scatter, on (perhaps shifted) positions


def _radii_work(ctx: Context) -> dict[str, Any]:
    import xrbid

    cfg = ctx.cfg
    sol = ctx.get("align")
    df = ctx.get("xray")
    applied = shift_applied(cfg, sol.significant)
    if applied:
        df = xrbid.apply_shift(df, sol, replace=True)
    pu = xrbid.positional_uncertainty(df, sol, fallback=cfg.radii.fallback, clamp=cfg.radii.clamp)
    xrbid.write_table(pu, ctx.out("radii.ecsv"))
    ctx.data["radii"] = pu
    return {
        "rows": len(pu),
        "shift_applied": applied,
        "methods": xrbid.method_counts(pu),
        "sigma_astro": float((sol.std_x**2 + sol.std_y**2) ** 0.5),
    }


RADII = Step(
    "radii",
    "positional uncertainties",
    ("xray", "align"),
    _radii_work,
    lambda cfg: ["radii.ecsv"],
    table_loader("radii.ecsv"),
    lambda cfg: {**cfg.radii.model_dump(), "apply": cfg.alignment.apply},
    enabled=has_xray,
)


# ---------------------------------------------------------------------------------------
# best observation per source, and its region files


def _best_work(ctx: Context) -> dict[str, Any]:
    import xrbid

    cfg = ctx.cfg
    best = xrbid.best_observations(ctx.get("radii"))
    for sigma, label, style in [
        ("2", "source_id", cfg.outputs.region_2sigma),
        ("1", None, cfg.outputs.region_1sigma),
    ]:
        xrbid.write_regions(
            best,
            ctx.out(f"best_{sigma}sig.reg"),
            radius_column=f"pu_{sigma}sigma",
            unit="arcsec",
            label_column=label,
            color=style.color,
            width=style.width,
        )
    xrbid.write_table(best, ctx.out("best.ecsv"))
    ctx.data["best"] = best
    radius = best["pu_2sigma"].astype(float)
    return {
        "sources": len(best),
        "median_pu_2sigma": float(radius.median()) if radius.notna().any() else None,
        "without_radius": int(radius.isna().sum()),
    }


BEST = Step(
    "best",
    "best observations",
    ("radii",),
    _best_work,
    lambda cfg: ["best.ecsv", "best_2sig.reg", "best_1sig.reg"],
    table_loader("best.ecsv"),
    lambda cfg: {
        "r2": cfg.outputs.region_2sigma.model_dump(),
        "r1": cfg.outputs.region_1sigma.model_dump(),
    },
    enabled=has_xray,
)


# ---------------------------------------------------------------------------------------
# counterpart candidates


def _cand_work(ctx: Context) -> dict[str, Any]:
    import xrbid

    cfg = ctx.cfg
    best = ctx.get("best")
    column = "pu_2sigma" if cfg.counterparts.radius == "2sigma" else "pu_1sigma"
    cands = xrbid.find_counterparts(best, ctx.get("optical"), radius_column=column)
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


COUNTERPARTS = Step(
    "counterparts",
    "counterpart candidates",
    ("best", "optical"),
    _cand_work,
    lambda cfg: ["candidates.ecsv", "candidates.reg"],
    table_loader("candidates.ecsv"),
    lambda cfg: {
        "radius": cfg.counterparts.radius,
        "style": cfg.outputs.region_candidates.model_dump(),
    },
    enabled=has_xray,
)
