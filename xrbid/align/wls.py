"""The translation-only WLS alignment of the CSC 2.1 fine-astrometry specification.

Separation groups, error-ellipse weights, Cauchy loss, bounded shifts, a proper-motion cut,
an optional two-step fit through an intermediate catalogue, and the QA flags of §5.7. The
parts live beside this module: the QA flags and their thresholds in ``qa.py``, the settings
(fit options, input selection, refused values) in ``wls_settings.py``, the many-stack driver
in ``wls_stacks.py`` (`align_wls_stacks`, `QA_FLAGS` and `WLSOptions` stay importable from
here).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..schema import sky_positions
from ..sky import centroid, to_arcsec
from ._common import build_solution, load, no_pairs_message
from ._engine import (
    proper_motion_ok,
    reference_density,
    two_step,
    weights_of,
    wls_engine,
)
from ._solvers import WLSOptions
from .inputs import InputSelection, select_intermediate
from .qa import QA_FLAGS, qa_flags
from .solution import AlignmentSolution
from .wls_settings import check_wls_values, fit_options, xray_selection
from .wls_stacks import align_wls_stacks

__all__ = [
    "QA_FLAGS",
    "WLSOptions",
    "align_wls",
    "align_wls_stacks",
]


def align_wls(
    xray: Any,
    reference: Any,
    *,
    weights: Any = "ellipse",
    loss: str = "cauchy",
    f_scale: float = 1.0,
    bounds: Any = "5arcsec",
    max_sep: Any = "3arcsec",
    group_edges: tuple[float, ...] = (1.0, 2.0, 3.0),
    min_matches: int = 3,
    pm_limit: float | None = 50.0,
    ref_point: tuple[float, float] | None = None,
    field_radius: Any = "10arcmin",
    density: float | None = None,
    intermediate: Any = None,
    link_column: str = "reference_id",
    solver: str = "least_squares",
    intermediate_density: float | None = None,
    max_theta: Any = "10arcmin",
    exclude_saturated: bool = True,
    exclude_convex_hull: bool = True,
    likelihood_classes: tuple[str, ...] | None = ("TRUE", "MARGINAL"),
    require_cc_flags_zero: bool = True,
) -> AlignmentSolution:
    """Translation-only weighted least-squares alignment (CSC 2.1 fine astrometry, §4–5.7).

    0. The input selection of §5.1/§5.5.1 (`xrbid.align.inputs`): X-ray detections at
       ``theta`` >= ``max_theta`` (10'), flagged saturated (``sat_src_flag``), convex-hull
       sources (CSC names ending in X) and likelihood classes other than TRUE/MARGINAL are
       left out, and intermediate (ALLWISE) sources with ``cc_flags`` other than 0; each
       where its column exists, each switchable. The solution counts what each removed
       (``selection``) and the notes name the filters not applied.
    1. Reference sources with total proper motion above ``pm_limit`` are dropped (rows with
       null proper motions are kept).
    2. Every reference source within ``max_sep`` (3") of each X-ray source is a candidate
       pair (ambiguous matches included); offsets are taken on the tangent plane about
       ``ref_point``.
    3. The pairs are split by separation into groups (0–1", 1–2", 2–3"); for each, the
       number of X-ray sources with a match and sigma = sqrt(σx·σy) of the offsets. The fit
       uses the group with at least ``min_matches`` matches and the lowest sigma, or, if
       none has that many, the group with most matches (ties: lowest sigma).
    4. The shift minimises Σ ρ(w_i d_i²), d_i the distance between reference and shifted
       X-ray position, w_i = 1/(r0·r1) from the error ellipse, ρ the ``loss`` (Cauchy),
       within ±``bounds`` on each axis, with `scipy.optimize.least_squares` from no shift.
    5. With an ``intermediate`` catalogue that has more candidate pairs than the reference
       (both counted over the pairs their fit can use: rows with usable weights), the shift
       is the sum of two fits, X-ray → intermediate (weights 1/sqrt((r0·r1)² +
       (σ_ra·σ_dec)²)) and intermediate → reference (one-to-one links, weights
       1/(σ_ra·σ_dec)): T = T2·T1.
    6. QA flags (`QA_FLAGS`; thresholds in `xrbid.align.qa`): density above
       `QA_MAX_DENSITY` per arcmin² (of the reference catalogue, or for a two-step fit of
       the intermediate one, §5.5.4 step 14), total shift above `QA_MAX_SHIFT`, fewer than
       `MIN_PAIRS` matches together with no source at θ < `QA_CENTRAL_THETA`, none above
       `QA_BRIGHT_COUNTS` counts or a shift above `QA_FEW_MATCHES_SHIFT`, and no matches at
       all.

    Parameters
    ----------
    xray : DataFrame or path
        X-ray detections: ``ra``, ``dec``, ``err_r0``/``err_r1`` (arcsec) for elliptical
        weights, optionally ``theta`` (arcmin), ``counts``, ``source_id``.
    reference : DataFrame or path
        Reference (e.g. Gaia) sources: ``ra``, ``dec``, optionally ``pmra``/``pmdec``
        (mas/yr) and ``source_id``.
    weights : {"ellipse", "uniform"} or array_like
        Per-X-ray-source weights; ``"ellipse"`` is 1/(err_r0·err_r1). Rows with no usable
        weight are left out (noted).
    loss : str
        A `scipy.optimize.least_squares` loss; the specification uses ``"cauchy"``.
    f_scale : float
        Soft margin of the loss between inlier and outlier residuals (scipy's ``f_scale``).
    bounds : float, str or Quantity
        Largest shift allowed on each axis (float = arcsec). Default 5".
    max_sep : float, str or Quantity
        Match radius (default 3", the last group edge).
    group_edges : tuple of float
        Upper edges of the separation groups, arcsec.
    min_matches : int
        Matches a group needs to be chosen on its scatter (3 in §5.5.3).
    pm_limit : float or None
        Proper-motion cut in mas/yr (None: keep all).
    ref_point : (float, float), optional
        Tangent point in degrees (the stack centre); default the centroid of the X-ray
        sources.
    field_radius : float, str or Quantity
        Radius around ``ref_point`` over which the reference density is counted (10').
    density : float, optional
        Reference sources per arcmin², when the reference table is not complete over the
        field (e.g. it holds only sources near detections).
    intermediate : DataFrame or path, optional
        An intermediate catalogue (e.g. ALLWISE): ``ra``, ``dec``, ``err_ra``/``err_dec``
        (arcsec; ``sigra``/``sigdec`` accepted), and ``link_column`` holding the
        ``source_id`` of its associated reference source.
    link_column : str
        Column of ``intermediate`` naming the associated reference source.
    solver : {"least_squares", "mm"}
        ``least_squares`` (the specification) or the vectorised equivalent.
    intermediate_density : float, optional
        Intermediate-catalogue sources per arcmin² (default: counted from ``intermediate``
        within ``field_radius``); the density flag of a two-step fit uses it.
    max_theta : float, str, Quantity or None
        Keep X-ray detections with off-axis angle ``theta`` below this (``r_stack`` = 10';
        a bare number is arcsec). None: no cut.
    exclude_saturated, exclude_convex_hull : bool
        Leave out detections with ``sat_src_flag`` set, and convex-hull (extended) sources.
    likelihood_classes : tuple of str or None
        Likelihood classes to keep (TRUE and MARGINAL); None: no cut.
    require_cc_flags_zero : bool
        Keep only intermediate sources with ALLWISE ``cc_flags`` = 0.

    Returns
    -------
    AlignmentSolution
        ``method="wls"`` or ``"wls-two-step"``; ``pairs`` holds every candidate pair with its
        ``group`` and whether it was ``used`` (``xray_row`` counts rows of the table as
        given, before the input selection); ``selection`` the rows each input filter removed.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> ref = pd.DataFrame({"ra": 150 + rng.uniform(-0.05, 0.05, 30),
    ...                     "dec": 2 + rng.uniform(-0.05, 0.05, 30)})
    >>> xray = ref.assign(ra=ref["ra"] - 0.4 / 3600 / np.cos(np.radians(ref["dec"])),
    ...                   dec=ref["dec"] - 0.2 / 3600, err_r0=0.5, err_r1=0.4)
    >>> sol = align_wls(xray, ref)
    >>> round(sol.shift_x, 4), round(sol.shift_y, 4)
    (0.4, 0.2)
    """
    xray_in = load(xray, "X-ray table")
    reference = load(reference, "reference table")
    sky_positions(xray_in, "X-ray table")
    sky_positions(reference, "reference table")
    if len(xray_in) == 0:
        raise InputError("the X-ray table is empty")
    check_wls_values(pm_limit=pm_limit, density=density, ref_point=ref_point)
    selection = xray_selection(xray_in, locals())
    if not selection.keep.any():
        raise InputError(
            f"the input selection left no X-ray source ({selection.summary()} of "
            f"{len(xray_in)}): check the table, or switch off "
            f"{selection.switch_off_hint()}"
        )
    kept_rows = np.flatnonzero(selection.keep)
    xray = xray_in.iloc[kept_rows].reset_index(drop=True)
    xra, xdec = sky_positions(xray, "X-ray table")
    options = fit_options(locals())
    ra0, dec0 = ref_point if ref_point is not None else centroid(xra, xdec)
    ra0a, dec0a = np.array([float(ra0)]), np.array([float(dec0)])
    notes: list[str] = _selection_notes(selection, "X-ray")

    keep_ref = proper_motion_ok(reference, pm_limit)
    if (~keep_ref).any():
        notes.append(
            f"{int((~keep_ref).sum())} reference source(s) with proper motion > "
            f"{pm_limit:g} mas/yr dropped"
        )
    dens = reference_density(
        reference,
        np.zeros(len(reference), dtype=np.intp),
        1,
        ra0a,
        dec0a,
        to_arcsec(field_radius, what="field_radius"),
        density,
    )[0]
    ref_kept = reference[keep_ref]
    w = weights_of(xray, weights, "X-ray table")
    if np.isnan(w).any():
        notes.append(f"{int(np.isnan(w).sum())} X-ray source(s) without a usable weight left out")
    x_code = np.zeros(len(xray), dtype=np.intp)
    direct, pairs = wls_engine(
        xray,
        ref_kept,
        x_code=x_code,
        r_code=np.zeros(len(ref_kept), dtype=np.intp),
        n=1,
        ra0=ra0a,
        dec0=dec0a,
        w=w,
        options=options,
        select_groups=True,
    )
    if intermediate is None and int(direct.iloc[0]["n_pairs_total"]) == 0 and len(ref_kept):
        xra, xdec = sky_positions(xray, "X-ray table")
        rra, rdec = sky_positions(ref_kept, "reference catalogue")
        raise InputError(
            no_pairs_message(
                xra, xdec, rra, rdec, options.max_sep, "X-ray source", "reference catalogue"
            )
        )
    pairs["ref_row"] = np.flatnonzero(keep_ref)[pairs["ref_row"].to_numpy()]
    method, row, steps, ref_for_pairs = "wls", direct.iloc[0], [], reference

    radius = to_arcsec(field_radius, what="field_radius")
    removed = dict(selection.removed)
    inter_dens = math.nan
    if intermediate is not None:
        inter = load(intermediate, "intermediate catalogue")
        sky_positions(inter, "intermediate catalogue")
        inter_sel = select_intermediate(inter, require_cc_flags_zero=require_cc_flags_zero)
        removed.update(inter_sel.removed)
        notes += _selection_notes(inter_sel, "intermediate")
        inter_dens = reference_density(
            inter,
            np.zeros(len(inter), dtype=np.intp),
            1,
            ra0a,
            dec0a,
            radius,
            intermediate_density,
        )[0]
        two = two_step(
            xray,
            reference,
            keep_ref,
            inter,
            link_column,
            w,
            int(direct.iloc[0]["n_pairs_total"]),
            options,
            float(ra0),
            float(dec0),
            notes,
            inter_keep=inter_sel.keep,
        )
        if two is not None:
            method, row, steps, pairs, ref_for_pairs = "wls-two-step", *two

    shift = (float(row["shift_x"]), float(row["shift_y"]))
    if method == "wls-two-step":
        shift = (
            steps[0]["shift_x"] + steps[1]["shift_x"],
            steps[0]["shift_y"] + steps[1]["shift_y"],
        )
    n_match = int(row["n_match"])
    # the density flag looks at the catalogue the X-ray sources were matched to (§5.5.3 step
    # 11: Gaia; §5.5.4 step 14: ALLWISE)
    flag_density = inter_dens if method == "wls-two-step" else dens

    def qa(n_used: int, shift: tuple[float, float]) -> dict[str, bool]:
        flags = qa_flags(
            xray,
            x_code,
            n_match=np.array([n_match]),
            n_used=np.array([n_used]),
            total_shift=np.array([math.hypot(*shift)]),
            density=np.array([flag_density]),
        )
        return {k: bool(v[0]) for k, v in flags.items()}

    solution = build_solution(
        method,
        xray,
        ref_for_pairs,
        pairs,
        qa=qa,
        shift=shift,
        ra0=ra0,
        dec0=dec0,
        params={
            "weights": weights if isinstance(weights, str) else "array",
            "loss": options.loss,
            "f_scale": options.f_scale,
            "bounds": options.bound,
            "max_sep": options.max_sep,
            "group_edges": ",".join(f"{e:g}" for e in options.group_edges),
            "min_matches": options.min_matches,
            "pm_limit": pm_limit,
            "density": float(dens),
            "intermediate_density": float(inter_dens),
            "density_flagged": "intermediate" if method == "wls-two-step" else "reference",
            "group": int(row["group"]),
            "n_match": n_match,
            "solver": options.solver,
            "max_theta_arcmin": (
                None if max_theta is None else to_arcsec(max_theta, what="max_theta") / 60.0
            ),
            "exclude_saturated": exclude_saturated,
            "exclude_convex_hull": exclude_convex_hull,
            "likelihood_classes": (
                None if likelihood_classes is None else ",".join(likelihood_classes)
            ),
            "require_cc_flags_zero": require_cc_flags_zero,
        },
        steps=steps,
        notes=notes,
    )
    solution.selection = removed
    return _rows_of_input(solution, kept_rows, xray)


def _selection_notes(selection: InputSelection, what: str) -> list[str]:
    """One note per input filter that was not applied, saying why."""
    return [
        f"input selection ({what}): {name.replace('_', '-')} filter not applied ({why})"
        for name, why in selection.skipped.items()
        if why != "switched off"
    ]


def _rows_of_input(
    solution: AlignmentSolution, kept_rows: np.ndarray, xray: pd.DataFrame
) -> AlignmentSolution:
    """Renumber ``xray_row`` (and unmatched row numbers) as rows of the table as given."""
    if len(solution.pairs):
        rows = solution.pairs["xray_row"].to_numpy(int)
        solution.pairs["xray_row"] = kept_rows[rows]
    if "source_id" not in xray.columns:
        solution.unmatched = [int(kept_rows[int(r)]) for r in solution.unmatched]
    return solution
