"""The machinery of the CSC 2.1 WLS alignment, vectorised over stacks.

Weights from the error ellipses, the proper-motion cut, candidate pairs in separation groups
and the choice of group (spec §5.5.3), the per-stack fits, the reference density and the
two-step fit through an intermediate catalogue (§5.5.4).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import ColumnError, InputError
from ..schema import numeric_column, require_columns, sky_positions
from ..sky import match_within, separation_arcsec, tangent_plane
from ._solvers import WLSOptions, solve_mm, solve_single


def weights_of(xray: pd.DataFrame, weights: Any, what: str) -> np.ndarray:
    """Per-row WLS weights w = 1/sigma^2, sigma^2 = r0*r1 (the circular error approximation)."""
    if isinstance(weights, str):
        if weights == "uniform":
            return np.ones(len(xray))
        if weights == "ellipse":
            require_columns(
                xray,
                ["err_r0", "err_r1"],
                what="weights='ellipse' (the error ellipse)",
                source=what,
                hint="add err_r0/err_r1 (arcsec) or use weights='uniform'",
            )
            r0 = numeric_column(xray, "err_r0", coerce=True)
            r1 = numeric_column(xray, "err_r1", coerce=True)
            with np.errstate(divide="ignore", invalid="ignore"):
                w = 1.0 / (r0 * r1)
            return np.where(np.isfinite(w) & (w > 0), w, np.nan)
        raise InputError(f"weights={weights!r} is not known; use 'ellipse', 'uniform' or an array")
    w = np.asarray(weights, dtype=float)
    if w.shape != (len(xray),):
        raise InputError(f"weights has {w.size} values for {len(xray)} {what} rows")
    return np.where(np.isfinite(w) & (w > 0), w, np.nan)


def proper_motion_ok(reference: pd.DataFrame, limit_mas: float | None) -> np.ndarray:
    """Reference rows to keep: total proper motion <= limit (null proper motions are kept)."""
    keep = np.ones(len(reference), dtype=bool)
    if limit_mas is None or not {"pmra", "pmdec"} & set(reference.columns):
        return keep
    pmra = pd.to_numeric(reference.get("pmra", np.nan), errors="coerce")
    pmdec = pd.to_numeric(reference.get("pmdec", np.nan), errors="coerce")
    pmra = np.broadcast_to(np.asarray(pmra, float), keep.shape)
    pmdec = np.broadcast_to(np.asarray(pmdec, float), keep.shape)
    total = np.hypot(np.nan_to_num(pmra), np.nan_to_num(pmdec))
    return total <= limit_mas


def _group_stats(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per (stack, group): n_match (detections with a match), n_pairs, sigma_x, sigma_y, sigma."""
    g = pairs.groupby(["stack", "group"], sort=True)
    stats = g.agg(n_match=("xray_row", "nunique"), n_pairs=("xray_row", "size"))
    stats["sigma_x"] = g["dx"].std(ddof=0)
    stats["sigma_y"] = g["dy"].std(ddof=0)
    stats = stats.reset_index()
    stats["sigma"] = np.sqrt(stats["sigma_x"] * stats["sigma_y"])
    return stats


def _choose_groups(stats: pd.DataFrame, min_matches: int) -> pd.DataFrame:
    """The group each stack uses (CSC 2.1 spec §5.5.3 step 4).

    Among groups with ``n_match >= min_matches``, the lowest sigma; if there is none, the
    largest ``n_match``, ties broken by the lowest sigma. Remaining ties: the group of
    smaller separations.
    """
    s = stats.copy()
    s["eligible"] = s["n_match"] >= min_matches
    s["any_eligible"] = s.groupby("stack")["eligible"].transform("any")
    s = s[s["eligible"] | ~s["any_eligible"]]
    # eligible groups: sort by sigma; otherwise: by -n_match then sigma
    s["k1"] = np.where(s["any_eligible"], 0, -s["n_match"])
    s = s.sort_values(["stack", "k1", "sigma", "group"], kind="mergesort")
    return s.drop_duplicates("stack", keep="first").set_index("stack")


def _match_pairs(
    x_stack: np.ndarray,
    xra: np.ndarray,
    xdec: np.ndarray,
    r_stack: np.ndarray,
    rra: np.ndarray,
    rdec: np.ndarray,
    ra0: np.ndarray,
    dec0: np.ndarray,
    max_sep: float,
    edges: np.ndarray,
) -> pd.DataFrame:
    """All X-ray–reference pairs within ``max_sep`` in the same stack, with tangent offsets."""
    i1, i2, sep = match_within(xra, xdec, rra, rdec, radius=max_sep)
    same = x_stack[i1] == r_stack[i2]
    i1, i2, sep = i1[same], i2[same], sep[same]
    st = x_stack[i1]
    xi_x, eta_x = tangent_plane(xra[i1], xdec[i1], ra0[st], dec0[st])
    xi_r, eta_r = tangent_plane(rra[i2], rdec[i2], ra0[st], dec0[st])
    return pd.DataFrame(
        {
            "stack": st,
            "xray_row": i1,
            "ref_row": i2,
            "sep": sep,
            "dx": xi_r - xi_x,
            "dy": eta_r - eta_x,
            "group": np.searchsorted(edges, sep, side="left") + 1,
        }
    )


def wls_engine(
    xray: pd.DataFrame,
    reference: pd.DataFrame,
    *,
    x_code: np.ndarray,
    r_code: np.ndarray,
    n: int,
    ra0: np.ndarray,
    dec0: np.ndarray,
    w: np.ndarray,
    options: WLSOptions,
    select_groups: bool,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Match, choose groups and solve for ``n`` stacks; return (per-stack table, pairs)."""
    xra, xdec = sky_positions(xray, "X-ray table")
    rra, rdec = sky_positions(reference, "reference table")
    pairs = _match_pairs(
        x_code, xra, xdec, r_code, rra, rdec, ra0, dec0, options.max_sep, options.edges
    )
    pairs["weight"] = w[pairs["xray_row"].to_numpy()]
    pairs = pairs[np.isfinite(pairs["weight"].to_numpy())].reset_index(drop=True)

    result = pd.DataFrame(index=pd.RangeIndex(n, name="stack"))
    result["n_match_total"] = (
        pairs.groupby("stack")["xray_row"].nunique().reindex(result.index, fill_value=0)
    )
    result["n_pairs_total"] = pairs.groupby("stack").size().reindex(result.index, fill_value=0)
    if select_groups and len(pairs):
        chosen = _choose_groups(_group_stats(pairs), options.min_matches)
        result["group"] = chosen["group"].reindex(result.index).fillna(0).astype(int)
        used = pairs["group"].to_numpy() == result["group"].to_numpy()[pairs["stack"].to_numpy()]
    else:
        result["group"] = 0
        used = np.ones(len(pairs), dtype=bool)
    pairs["used"] = used

    u = pairs[used]
    code = u["stack"].to_numpy()
    ox, oy, wu = (u[c].to_numpy(float) for c in ("dx", "dy", "weight"))
    if options.solver == "least_squares":
        sx, sy = np.zeros(n), np.zeros(n)
        if len(u):
            order = np.argsort(code, kind="stable")
            starts = np.flatnonzero(np.r_[True, np.diff(code[order]) != 0])
            for a, b in zip(starts, np.r_[starts[1:], len(order)]):
                sel = order[a:b]
                s = code[sel[0]]
                sx[s], sy[s] = solve_single(ox[sel], oy[sel], wu[sel], options)
    else:
        sx, sy = solve_mm(code, n, ox, oy, wu, options.loss, options.f_scale, options.bound)

    n_used = np.bincount(code, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = np.bincount(code, ox, minlength=n) / n_used
        my = np.bincount(code, oy, minlength=n) / n_used
        vx = np.bincount(code, (ox - mx[code]) ** 2, minlength=n) / n_used
        vy = np.bincount(code, (oy - my[code]) ** 2, minlength=n) / n_used
    result["shift_x"] = sx
    result["shift_y"] = sy
    result["std_x"] = np.sqrt(vx)
    result["std_y"] = np.sqrt(vy)
    result["n_used"] = n_used
    result["n_match"] = (
        u.groupby("stack")["xray_row"].nunique().reindex(result.index, fill_value=0).to_numpy()
    )
    return result, pairs


def stack_reference_points(
    xray: pd.DataFrame, code: np.ndarray, n: int, ref_point: Any
) -> tuple[np.ndarray, np.ndarray]:
    if ref_point is not None:
        return np.full(n, float(ref_point[0])), np.full(n, float(ref_point[1]))
    if {"ra_stack", "dec_stack"} <= set(xray.columns):
        first = pd.DataFrame({"c": code, "ra": xray["ra_stack"], "dec": xray["dec_stack"]})
        first = first.groupby("c").first().reindex(range(n))
        return first["ra"].to_numpy(float), first["dec"].to_numpy(float)
    xra, xdec = sky_positions(xray, "X-ray table")
    v = np.column_stack(
        [
            np.cos(np.radians(xdec)) * np.cos(np.radians(xra)),
            np.cos(np.radians(xdec)) * np.sin(np.radians(xra)),
            np.sin(np.radians(xdec)),
        ]
    )
    m = np.column_stack([np.bincount(code, v[:, k], minlength=n) for k in range(3)])
    ra0 = np.degrees(np.arctan2(m[:, 1], m[:, 0])) % 360.0
    dec0 = np.degrees(np.arctan2(m[:, 2], np.hypot(m[:, 0], m[:, 1])))
    return ra0, dec0


def reference_density(
    reference: pd.DataFrame,
    r_code: np.ndarray,
    n: int,
    ra0: np.ndarray,
    dec0: np.ndarray,
    field_radius: float,
    density: Any,
) -> np.ndarray:
    """Reference sources per arcmin^2 within ``field_radius`` (arcsec) of each stack centre."""
    if density is not None:
        d = np.asarray(density, dtype=float)
        return np.broadcast_to(d, (n,)).copy() if d.ndim == 0 else d
    rra, rdec = sky_positions(reference, "reference table")
    inside = separation_arcsec(rra, rdec, ra0[r_code], dec0[r_code]) <= field_radius
    count = np.bincount(r_code[inside], minlength=n)
    return count / (np.pi * (field_radius / 60.0) ** 2)


def _intermediate_errors(inter: pd.DataFrame) -> np.ndarray:
    for a, b in (("err_ra", "err_dec"), ("sigra", "sigdec")):
        if {a, b} <= set(inter.columns):
            ea = pd.to_numeric(inter[a], errors="coerce").to_numpy(float)
            eb = pd.to_numeric(inter[b], errors="coerce").to_numpy(float)
            return ea * eb
    raise ColumnError(
        "the intermediate catalogue has no position errors; add err_ra and err_dec (arcsec)"
    )


def two_step(
    xray: pd.DataFrame,
    reference: pd.DataFrame,
    keep_ref: np.ndarray,
    inter: pd.DataFrame,
    link_column: str,
    w: np.ndarray,
    n_direct: int,
    options: WLSOptions,
    ra0: float,
    dec0: float,
    notes: list[str],
    inter_keep: np.ndarray | None = None,
) -> tuple[pd.Series, list[dict[str, Any]], pd.DataFrame, pd.DataFrame] | None:
    """The two-step fit (spec §5.5.4) if the intermediate catalogue has more pairs, else None.

    Both counts compare the pairs each fit could use (§5.5.2): pairs of X-ray rows with a
    usable weight, and here also of intermediate rows with usable position errors.
    ``inter_keep`` marks the intermediate rows the input selection kept (``cc_flags`` = 0).
    """
    sky_positions(inter, "intermediate catalogue")
    if link_column not in inter.columns:
        raise ColumnError(
            f"the intermediate catalogue has no {link_column!r} column linking it to the "
            "reference catalogue; pass link_column=..."
        )
    if "source_id" not in reference.columns:
        raise ColumnError("the reference table needs source_id to link the intermediate catalogue")
    var_i = _intermediate_errors(inter)
    # Intermediate sources linked to a high-proper-motion reference source are dropped too.
    ref_ids = reference["source_id"].astype(str)
    fast = set(ref_ids[~keep_ref])
    link = inter[link_column].astype(str)
    inter_ok = ~link.isin(fast).to_numpy()
    if inter_keep is not None:
        inter_ok &= inter_keep
    inter_kept = inter[inter_ok]
    var_kept = var_i[inter_ok]
    r0r1 = 1.0 / w  # w = 1/(r0 r1)
    n0 = np.zeros(len(inter_kept), dtype=np.intp)
    # X-ray -> intermediate: candidate pairs (X-ray rows without a weight left out, as in the
    # direct count) and weights 1/sqrt((r0 r1)^2 + (s_ra s_dec)^2)
    _, pairs1 = wls_engine(
        xray,
        inter_kept,
        x_code=np.zeros(len(xray), dtype=np.intp),
        r_code=n0,
        n=1,
        ra0=np.array([ra0]),
        dec0=np.array([dec0]),
        w=w,
        options=options,
        select_groups=False,
    )
    xr = pairs1["xray_row"].to_numpy()
    ir = pairs1["ref_row"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        w1_pairs = 1.0 / np.sqrt(r0r1[xr] ** 2 + var_kept[ir] ** 2)
    n_inter = int((np.isfinite(w1_pairs) & (w1_pairs > 0)).sum())
    if n_inter <= n_direct:
        notes.append(f"direct fit used: {n_direct} reference pairs >= {n_inter} intermediate pairs")
        return None
    step1, pairs1 = _wls_engine_pairs(pairs1, w1_pairs, options)
    # intermediate -> reference over one-to-one links, weights 1/(s_ra s_dec)
    ref_pos = pd.Series(np.arange(len(reference)), index=ref_ids)
    ref_pos = ref_pos[~ref_pos.index.duplicated(keep=False)]
    counts = link[inter_ok].value_counts()
    one_to_one = (
        link[inter_ok].map(counts).eq(1).to_numpy() & link[inter_ok].isin(ref_pos.index).to_numpy()
    )
    a = inter_kept[one_to_one]
    b = reference.iloc[ref_pos[link[inter_ok][one_to_one]].to_numpy()]
    ara, adec = sky_positions(a, "intermediate catalogue")
    bra, bdec = sky_positions(b, "reference table")
    ax, ay = tangent_plane(ara, adec, ra0, dec0)
    bx, by = tangent_plane(bra, bdec, ra0, dec0)
    w2 = 1.0 / var_kept[one_to_one]
    ok = np.isfinite(w2) & (w2 > 0)
    if ok.sum() == 0:
        raise InputError("no usable intermediate–reference links for the two-step fit")
    ox, oy, ww = (bx - ax)[ok], (by - ay)[ok], w2[ok]
    s2 = solve_single(ox, oy, ww, options)
    steps = [
        {
            "name": "xray->intermediate",
            "shift_x": float(step1["shift_x"]),
            "shift_y": float(step1["shift_y"]),
            "std_x": float(step1["std_x"]),
            "std_y": float(step1["std_y"]),
            "n_used": int(step1["n_used"]),
            "group": int(step1["group"]),
        },
        {
            "name": "intermediate->reference",
            "shift_x": s2[0],
            "shift_y": s2[1],
            "std_x": float(np.std(ox)),
            "std_y": float(np.std(oy)),
            "n_used": int(ok.sum()),
        },
    ]
    notes.append(
        f"two-step fit through the intermediate catalogue ({n_inter} pairs > {n_direct} "
        "direct); std is that of the X-ray->intermediate offsets"
    )
    pairs1 = pairs1.copy()
    pairs1["ref_row"] = np.flatnonzero(inter_ok)[pairs1["ref_row"].to_numpy()]
    return step1, steps, pairs1, inter


def _wls_engine_pairs(
    pairs: pd.DataFrame, weights: np.ndarray, options: WLSOptions
) -> tuple[pd.Series, pd.DataFrame]:
    """Group choice and fit for one stack on already-matched pairs with per-pair weights."""
    pairs = pairs.copy()
    pairs["weight"] = weights
    pairs = pairs[np.isfinite(weights)].reset_index(drop=True)
    if len(pairs):
        chosen = _choose_groups(_group_stats(pairs), options.min_matches).iloc[0]
        group = int(chosen["group"])
    else:
        group = 0
    used = pairs["group"].to_numpy() == group
    pairs["used"] = used
    u = pairs[used]
    ox, oy, ww = (u[c].to_numpy(float) for c in ("dx", "dy", "weight"))
    s = solve_single(ox, oy, ww, options) if len(u) else (0.0, 0.0)
    row = pd.Series(
        {
            "shift_x": s[0],
            "shift_y": s[1],
            "std_x": float(np.std(ox)) if len(u) else float("nan"),
            "std_y": float(np.std(oy)) if len(u) else float("nan"),
            "n_used": len(u),
            "n_match": int(u["xray_row"].nunique()),
            "group": group,
        }
    )
    return row, pairs
