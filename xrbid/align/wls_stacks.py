"""The CSC 2.1 WLS alignment of many stacks at once (`align_wls_stacks`).

Matching, separation groups, group choice, weights and QA flags are computed for all stacks
together with array operations, as are the fits themselves (``solver="mm"``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import ColumnError
from ..sky import to_arcsec
from ._engine import (
    proper_motion_ok,
    reference_density,
    stack_reference_points,
    weights_of,
    wls_engine,
)
from .qa import qa_flags
from .wls_settings import check_wls_values, fit_options, xray_selection

__all__ = ["align_wls_stacks"]


def align_wls_stacks(
    xray: pd.DataFrame,
    reference: pd.DataFrame,
    *,
    stack_column: str = "stack_id",
    weights: Any = "ellipse",
    loss: str = "cauchy",
    f_scale: float = 1.0,
    bounds: Any = "5arcsec",
    max_sep: Any = "3arcsec",
    group_edges: tuple[float, ...] = (1.0, 2.0, 3.0),
    min_matches: int = 3,
    pm_limit: float | None = 50.0,
    field_radius: Any = "10arcmin",
    density: Any = None,
    solver: str = "mm",
    max_theta: Any = "10arcmin",
    exclude_saturated: bool = True,
    exclude_convex_hull: bool = True,
    likelihood_classes: tuple[str, ...] | None = ("TRUE", "MARGINAL"),
) -> pd.DataFrame:
    """WLS translations (CSC 2.1 fine astrometry, direct fit) for many stacks at once.

    The matching, separation groups, group choice, weights and QA flags are computed for all
    stacks together with array operations; the fits run together too (``solver="mm"``,
    a majorise-minimise iteration that converges to the same bounded minimum of the robust
    cost as `scipy.optimize.least_squares`, which ``solver="least_squares"`` calls per stack).

    Parameters
    ----------
    xray : DataFrame
        Detections of all stacks: ``stack_column``, ``ra``, ``dec``, ``err_r0``/``err_r1``
        (arcsec, for ``weights="ellipse"``), optionally ``theta`` (arcmin) and ``counts`` for
        the QA rules, and ``ra_stack``/``dec_stack`` for the tangent point (default: the
        centroid of each stack's detections).
    reference : DataFrame
        Reference sources per stack: ``stack_column``, ``ra``, ``dec``, optionally ``pmra``
        and ``pmdec`` (mas/yr).
    stack_column : str
        Column naming the stack of each row in both tables.
    weights, loss, f_scale, bounds, max_sep, group_edges, min_matches : see `align_wls`
    pm_limit, field_radius, density : see `align_wls`
    solver : {"mm", "least_squares"}
        How the fits are solved (see above).
    max_theta, exclude_saturated, exclude_convex_hull, likelihood_classes : see `align_wls`
        The input selection of §5.1/§5.5.1, applied to the detections of every stack.

    Returns
    -------
    DataFrame
        One row per stack (index: the stack values): ``shift_x``, ``shift_y``, ``std_x``,
        ``std_y`` (arcsec), ``n_used`` (pairs), ``n_match`` (detections), ``group``,
        ``n_match_total``, ``density``, ``ra0``, ``dec0``, the flags of `QA_FLAGS`,
        ``qa_required``, and ``removed_<filter>`` per input filter applied (detections that
        filter removed from the stack). A stack whose detections were all removed keeps its
        row, with no matches.
    """
    if stack_column not in xray.columns or stack_column not in reference.columns:
        raise ColumnError(
            f"both tables need the stack column {stack_column!r}; pass stack_column=..."
        )
    check_wls_values(pm_limit=pm_limit, density=density, ref_point=None)
    options = fit_options(locals())
    keep_ref = proper_motion_ok(reference, pm_limit)
    stacks = pd.Index(pd.unique(xray[stack_column]))
    n = len(stacks)
    selection = xray_selection(xray, locals())
    code_all = stacks.get_indexer(xray[stack_column])
    removed_counts = {
        f"removed_{name}": np.bincount(code_all[selection.removed_by == name], minlength=n).astype(
            int
        )
        for name, count in selection.removed.items()
        if count is not None
    }
    # the tangent point of a stack is its centre: taken before the selection, so that a stack
    # keeps it when the selection removes detections (or all of them)
    ra0, dec0 = stack_reference_points(xray, code_all, n, None)
    xray = xray[selection.keep].reset_index(drop=True)
    x_code = code_all[selection.keep]
    r_all = stacks.get_indexer(reference[stack_column])
    in_stack = r_all >= 0
    dens = reference_density(
        reference[in_stack],
        r_all[in_stack],
        n,
        ra0,
        dec0,
        to_arcsec(field_radius, what="field_radius"),
        density,
    )
    ref = reference[keep_ref & in_stack]
    r_code = r_all[keep_ref & in_stack]
    w = weights_of(xray, weights, "X-ray table")
    result, _ = wls_engine(
        xray,
        ref,
        x_code=x_code,
        r_code=r_code,
        n=n,
        ra0=ra0,
        dec0=dec0,
        w=w,
        options=options,
        select_groups=True,
    )
    flags = qa_flags(
        xray,
        x_code,
        n_match=result["n_match"].to_numpy(),
        n_used=result["n_used"].to_numpy(),
        total_shift=np.hypot(result["shift_x"], result["shift_y"]).to_numpy(),
        density=dens,
    )
    result["density"] = dens
    result["ra0"] = ra0
    result["dec0"] = dec0
    for k, v in flags.items():
        result[k] = v
    result["qa_required"] = np.logical_or.reduce(list(flags.values()))
    for k, v in removed_counts.items():
        result[k] = v
    result.index = stacks.rename(stack_column)
    return result
