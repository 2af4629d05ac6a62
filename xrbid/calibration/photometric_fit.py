"""The photometric calibration fit: zero point, colour terms, extinction and spatial terms.

The model is the textbook calibration equation (zero point, colour term, first-order
extinction) extended by the terms of a term-language specification (`xrbid.calibration.terms`):

.. math::

    m_\\mathrm{instr} - m_\\mathrm{std} = ZP + \\sum_k c_k \\, T_k(x, y, r, A, B, C, D, \\ldots)

where each :math:`T_k` is a monomial of the normalised position, the airmass, or the catalogue
colours. It is fitted by weighted linear least squares (weights 1/σ², σ² the sum of the squared
instrumental error, catalogue error and error floor) with
iterative sigma clipping on a robust (MAD) scale. Stepwise terms (``@``) are selected by
partial F-tests on the normal equations; the covariance of the final fit, scaled by its
reduced chi-square, gives the per-term uncertainties.

Positions are normalised as ``X = (x - x0) / s``, ``Y = (y - y0) / s``, ``R = sqrt(X² + Y²)``,
with ``(x0, y0)`` the centre of the stars' bounding box and ``s`` the larger half-side, unless
given explicitly (``xy_center``, ``xy_scale``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from xrbid.errors import CalibrationError, ColumnError, InputError

from ._design import (
    _NULL,
    COLOUR_CONVENTIONS,
    _build_design,
    _image_codes,
    _model_offset,
    _normalised,
    _numeric,
    _Param,
    _require,
    _resolve_column,
    _variables,
)
from ._lsq import (
    _check_base,
    _check_counts,
    _clip,
    _cols,
    _groups,
    _Normal,
    _report_rows,
    _solve,
    _stepwise,
)
from .nonlinear import full_covariance, profile_chi2, profile_fit
from .photometric_solution import PhotometricSolution, TermFit
from .terms import TermPlan, parse_terms, without_dependent_radial

__all__ = ["fit_photometric"]


def fit_photometric(
    stars: pd.DataFrame,
    terms: str | TermPlan = "",
    *,
    ref_mag: str,
    filters: Sequence[str] = (),
    mag: str = "mag",
    mag_err: str | None = "mag_err",
    ref_mag_err: str | None = None,
    x: str = "x",
    y: str = "y",
    image: str | None = "image",
    airmass: str = "airmass",
    colour_convention: Literal["dophot3", "index"] = "dophot3",
    default: Literal["stepwise", "always"] = "stepwise",
    per_image_pointing: bool = False,
    zeropoint: Literal["global", "per-image"] = "global",
    alpha: float = 0.001,
    clip: float = 3.0,
    max_iter: int = 10,
    error_floor: float = 0.0,
    xy_center: tuple[float, float] | None = None,
    xy_scale: float | None = None,
) -> PhotometricSolution:
    """Fit ``m_instr - m_std`` as zero point + the terms of a term-language specification.

    Parameters
    ----------
    stars : pandas.DataFrame
        One row per measurement of a catalogue star: instrumental magnitude and error, the
        standard magnitude ``ref_mag`` (see `join_reference`), and the columns the terms need
        (``x``, ``y`` for X/Y/R; ``airmass`` for A/B; the ``filters`` for colours; ``image``
        for per-image terms). Not modified. Rows with a needed value missing are skipped.
    terms : str or TermPlan
        Term specification, e.g. ``'@.p2,&PC,#PA=0.12'`` (see `xrbid.calibration.terms`).
        Empty: zero point only. A `TermPlan` is used as it is (``default`` and
        ``per_image_pointing`` were applied when it was parsed).
    ref_mag : str
        Column of the standard (catalogue) magnitude in the filter being calibrated.
    filters : sequence of str
        Catalogue magnitude columns defining the colours, bluest first: C = filters[1] -
        filters[0] (``V - B`` for ``("B", "V")``), D = filters[2] - filters[1], ... (see
        ``colour_convention``). ``XC``/``SC`` also need the standard filter ``ref_mag`` among
        them, with one filter before it and two after.
    mag, mag_err, ref_mag_err : str
        Instrumental magnitude, its error (None: equal weights) and the catalogue error (None:
        not used).
    x, y, image, airmass : str
        Column names of pixel position, image identifier and airmass.
    colour_convention : {"dophot3", "index"}
        ``"dophot3"``: each colour is the next filter minus the previous one (C = 2nd - 1st,
        as dophot3's term document defines it); ``"index"``: the conventional index, previous
        minus next (C = 1st - 2nd, ``B - V``).
    default : {"stepwise", "always"}
        Mode of unmarked terms (dophot3's ``--use-stepwise``).
    per_image_pointing : bool
        Add ``&*PX,&*PY`` (dophot3's ``-y``).
    zeropoint : {"global", "per-image"}
        One zero point, or one per image (then an airmass term is degenerate with them when
        the airmass is constant within an image).
    alpha : float
        Significance level of the stepwise F-tests: a stepwise term enters when the p-value of
        its partial F-test is below ``alpha`` and leaves when it rises above it.
    clip : float
        Clip stars whose weighted residual exceeds ``clip`` robust standard deviations
        (1.4826 × MAD); iterate up to ``max_iter`` times until the set of stars is stable.
    error_floor : float
        Added in quadrature to every star's error (mag).
    xy_center, xy_scale : optional
        Normalisation of positions; default: centre and larger half-side of the bounding box
        of the stars.

    Returns
    -------
    PhotometricSolution

    Raises
    ------
    TermSyntaxError
        If ``terms`` cannot be parsed.
    ColumnError
        If a column a term needs is missing.
    CalibrationError
        Colour terms without enough filters; too few stars for the number of parameters;
        terms that are linear combinations of others; a per-image non-linear term.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"x": rng.uniform(0, 100, 200), "y": rng.uniform(0, 100, 200),
    ...                    "V": rng.uniform(15, 19, 200), "mag_err": 0.01})
    >>> df["mag"] = df["V"] - 25.0 + 0.05 * (df["x"] - 50) / 50 + rng.normal(0, 0.01, 200)
    >>> sol = fit_photometric(df, "@.p1", ref_mag="V", xy_center=(50, 50), xy_scale=50)
    >>> sol.kept, round(sol["ZP"].coefficient, 2), round(sol["PX"].coefficient, 2)
    (['PX'], -25.0, 0.05)
    """
    plan = (
        terms
        if isinstance(terms, TermPlan)
        else parse_terms(terms, default=default, per_image_pointing=per_image_pointing)
    )
    plan = without_dependent_radial(plan)
    if zeropoint not in ("global", "per-image"):
        raise InputError(f"zeropoint must be 'global' or 'per-image', not {zeropoint!r}")
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be between 0 and 1, got {alpha}")
    if colour_convention not in COLOUR_CONVENTIONS:
        raise InputError(
            f"colour_convention must be one of {', '.join(COLOUR_CONVENTIONS)}, not "
            f"{colour_convention!r}"
        )
    if clip <= 0:
        raise InputError(f"clip must be positive, got {clip}")
    n_input = len(stars)
    columns: dict[str, str | None] = {
        "mag": _require(stars, mag, "the instrumental magnitude (--mag-column)"),
        "mag_err": None if mag_err is None else _require(stars, mag_err, "the weights"),
        "ref_mag_err": None if ref_mag_err is None else _require(stars, ref_mag_err, "the weights"),
        "x": _resolve_column(stars, x) or x,
        "y": _resolve_column(stars, y) or y,
        "airmass": _resolve_column(stars, airmass) or airmass,
        "image": _resolve_column(stars, image) if image else None,
    }
    ref_col = _require(stars, ref_mag, "the standard magnitude (--ref-mag)")
    filters = tuple(_resolve_column(stars, f) or f for f in filters)

    per_image_needed = zeropoint == "per-image" or any(
        t.per_image for t in plan.terms if t.mode != "fixed"
    )
    if per_image_needed and columns["image"] is None:
        raise ColumnError(
            f"table has no image column {image!r}, needed for per-image terms "
            f"({', '.join(t.describe() for t in plan.terms if t.per_image) or 'zero points'})"
        )

    nonlinear = [t for t in plan.terms if t.term.nonlinear and t.mode != "fixed"]
    per_image_nl = [t.describe() for t in nonlinear if t.per_image]
    if per_image_nl:
        raise CalibrationError(
            f"{', '.join(per_image_nl)}: a non-linear term (XC, SC, RO, RC) is fitted for all "
            "images together; drop the * (or fit the images one by one)"
        )
    raw = _variables(
        stars, plan.variables, columns, filters, plan, ref=ref_col, convention=colour_convention
    )
    m_instr = _numeric(stars, columns["mag"])
    m_std = _numeric(stars, ref_col)
    var = np.full(n_input, error_floor**2)
    for key in ("mag_err", "ref_mag_err"):
        if columns[key] is not None:
            var = var + _numeric(stars, columns[key]) ** 2
    if columns["mag_err"] is None and columns["ref_mag_err"] is None and error_floor == 0:
        var = np.ones(n_input)
    with np.errstate(invalid="ignore"):
        bad_err = np.isfinite(var) & (var <= 0)
    if bad_err.any():
        raise InputError(
            f"{int(bad_err.sum())} star(s) have zero magnitude error; fix the errors or pass "
            "an error floor (--error-floor 0.01)"
        )

    valid = np.isfinite(m_instr) & np.isfinite(m_std) & np.isfinite(var)
    for values in raw.values():
        valid &= np.isfinite(values)
    images: list[str] = []
    codes = None
    if per_image_needed:
        img = stars[columns["image"]].astype(str)
        valid &= stars[columns["image"]].notna().to_numpy()
        images = sorted(img[valid].unique())
        codes = _image_codes(stars, columns["image"], images)

    if "x" in raw and valid.any():
        xs, ys = raw["x"][valid], raw["y"][valid]
        if xy_center is None:
            xy_center = ((xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2)
        if xy_scale is None:
            xy_scale = max(xs.max() - xs.min(), ys.max() - ys.min()) / 2 or 1.0
    xy_center = tuple(map(float, xy_center)) if xy_center is not None else (0.0, 0.0)
    xy_scale = float(xy_scale) if xy_scale is not None else 1.0
    xy = _normalised(raw, xy_center, xy_scale)

    # the non-linear values: fixed ones, and the starting points of the fitted ones
    shape: dict[str, float] = {}
    if "N" in raw:
        shape["n0"] = float(np.median(raw["N"][valid])) if valid.any() else 0.0
    for t in plan.terms:
        if t.term.nonlinear and t.mode == "fixed":
            shape[t.name] = float(t.value)
    theta_names = [t.name for t in nonlinear]
    for t in nonlinear:
        shape[t.name] = float(t.value) if t.value is not None else _NULL

    # parameters: zero point(s), then each free linear term (one group per term)
    params: list[_Param] = []
    if zeropoint == "per-image":
        params += [_Param(f"ZP:{im}", None, i, "ZP") for i, im in enumerate(images)]
    else:
        params.append(_Param("ZP", None, None, "ZP"))
    for t in plan.terms:
        if t.mode == "fixed" or t.term.nonlinear:
            continue
        if t.per_image:
            params += [_Param(f"{t.name}:{im}", t.term, i, t.name) for i, im in enumerate(images)]
        else:
            params.append(_Param(t.name, t.term, None, t.name))

    _check_counts(valid, codes, params, images, theta_names)

    n = n_input
    observed = m_instr - m_std
    sw = np.where(valid, 1.0 / np.sqrt(np.where(valid, var, 1.0)), 0.0)
    groups = _groups(params, plan)
    base = [g for g in groups if groups[g]["mode"] in ("zero point", "always")]
    candidates = [g for g in groups if groups[g]["mode"] == "stepwise"]
    rs_cols = [j for j, p in enumerate(params) if p.term is not None and p.term.special == "RS"]

    # the design is built once; only the RS columns depend on the non-linear values (RO, RC)
    base_design = _build_design(params, xy, codes, valid, shape)

    def build_full(sh: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        design = base_design
        if rs_cols:
            design = base_design.copy()
            for j in rs_cols:
                design[:, j] = np.where(valid, params[j].column(xy, codes, n, None, sh), 0.0)
        return design, target_of(sh)

    def target_of(sh: dict[str, float]) -> np.ndarray:
        return np.where(valid, observed - _model_offset(plan, xy, n, sh), 0.0)

    def linear_fit(
        sh: dict[str, float], start: _Normal | None
    ) -> tuple[_Normal, list[str], np.ndarray, np.ndarray, float]:
        """Selection and clipping of the linear terms with the non-linear values ``sh``."""
        design, target = build_full(sh)
        offset0 = float(np.median(target[valid]))
        a_s = design * sw[:, None]
        y_s = np.where(valid, target - offset0, 0.0) * sw
        normal = _Normal.of(a_s, y_s, valid if start is None else start.mask)
        if start is None:
            _check_base(normal, params, _cols(groups, base))
            # robust start: clip with every candidate in the model
            every = _cols(groups, base + candidates)
            normal = _clip(a_s, y_s, valid, every, clip, max_iter, normal)
        selected = list(base)
        for _ in range(5):
            selected = _stepwise(normal, groups, base, candidates, alpha)
            new = _clip(a_s, y_s, valid, _cols(groups, selected), clip, max_iter, normal)
            if np.array_equal(new.mask, normal.mask):
                break
            normal = new
        return normal, selected, a_s, y_s, offset0

    normal, selected, a_s, y_s, offset0 = linear_fit(shape, None)
    # non-linear values: minimise the chi-square of the linear fit over them, then select and
    # clip again at the new values, until neither changes
    shape_status = {t.name: t.mode for t in nonlinear}
    shape_tests: dict[str, tuple[float, float]] = {}
    for _ in range(2 * len(theta_names) + 2 if theta_names else 0):
        active = [k for k in theta_names if shape_status[k] != "dropped"]
        if not _rational_in_model(active, rs_cols, groups, selected, params):
            for k in ("RO", "RC"):
                if k in active:
                    shape_status[k], shape[k] = "dropped", _NULL
            active = [k for k in active if k not in ("RO", "RC")]
        for _ in range(10):
            # the values minimise the chi-square for this selection and clipping; only when
            # either changes at the new values can the minimum move
            before = (list(selected), normal.mask.copy())
            cols = _cols(groups, selected)
            build = _shape_builder(build_full, shape, active, cols)
            target = None if rs_cols else _shape_target(target_of, shape, active)
            theta, _, _ = profile_fit(
                build, np.array([shape[k] for k in active]), sw, normal.mask, target=target
            )
            shape.update(zip(active, map(float, theta)))
            normal, selected, a_s, y_s, offset0 = linear_fit(shape, normal)
            if selected == before[0] and np.array_equal(normal.mask, before[1]):
                break
        # stepwise non-linear values: kept if the F-test against their null value passes
        cols = _cols(groups, selected)
        build = _shape_builder(build_full, shape, active, cols)
        theta = np.array([shape[k] for k in active])
        chi2_best = profile_chi2(build, theta, sw, normal.mask)
        dof = normal.n - len(cols) - len(active)
        worst = None
        for k, name in enumerate(active):
            nulled = theta.copy()
            nulled[k] = _NULL
            chi2_null = profile_chi2(build, nulled, sw, normal.mask)
            f = max(chi2_null - chi2_best, 0.0) / (chi2_best / dof) if dof > 0 else math.nan
            p = float(stats.f.sf(f, 1, dof)) if dof > 0 else math.nan
            shape_tests[name] = (f, p)
            if shape_status[name] == "stepwise" and p > alpha and (worst is None or p > worst[1]):
                worst = (name, p)
        if worst is None:
            break
        shape_status[worst[0]], shape[worst[0]] = "dropped", _NULL
        normal, selected, a_s, y_s, offset0 = linear_fit(shape, normal)

    cols = _cols(groups, selected)
    mask = normal.mask
    n_used = normal.n
    fitted = [k for k in theta_names if shape_status[k] != "dropped"]
    if n_used <= len(cols) + len(fitted):
        raise CalibrationError(
            f"only {n_used} stars survive the {clip:g}-sigma clipping for "
            f"{len(cols) + len(fitted)} free parameters; need at least "
            f"{len(cols) + len(fitted) + 1}: add stars, drop terms or raise --clip"
        )
    beta, inv = _solve(normal.g[np.ix_(cols, cols)], normal.b[cols])
    chi2 = normal.chi2(cols)
    dof = n_used - len(cols) - len(fitted)
    chi2_red = chi2 / dof
    cov = inv * chi2_red
    if fitted:
        build = _shape_builder(build_full, shape, fitted, cols)
        theta = np.array([shape[k] for k in fitted])
        design, target = build(theta)
        beta_abs = np.linalg.lstsq(design[mask] * sw[mask, None], target[mask] * sw[mask])[0]
        try:
            cov, chi2_red, dof = full_covariance(build, theta, beta_abs, sw, mask)
        except np.linalg.LinAlgError:
            raise CalibrationError(
                f"{', '.join(fitted)} cannot be told apart from the other terms on these stars "
                "(e.g. XC with PD, or RC at 0 with RO): fix one with #, or drop it"
            ) from None
    resid = (y_s[mask] - a_s[mask][:, cols] @ beta) / sw[mask]
    rms = float(np.sqrt(np.mean(resid**2)))

    coef = dict(zip(cols, beta))
    for j, p in enumerate(params):
        if p.term is None and j in coef:
            coef[j] += offset0  # the zero points absorb the offset taken out of the target
    err = dict(zip(cols, np.sqrt(np.diag(cov))[: len(cols)]))
    rows = _report_rows(normal, groups, params, selected, coef, err, images)
    for name in theta_names:
        status = shape_status[name]
        status = "kept" if status == "stepwise" else status
        f_stat, p_value = shape_tests.get(name, (math.nan, math.nan))
        if name in fitted:
            j = len(cols) + fitted.index(name)
            error = float(np.sqrt(cov[j, j]))
            value = shape[name]
        else:
            error, value = math.nan, math.nan
        rows.append(TermFit(name, name, None, status, float(value), error, f_stat, p_value))
    for t in plan.by_mode("fixed"):
        rows.append(TermFit(t.name, t.name, None, "fixed", float(t.value), 0.0))

    used = np.zeros(n, dtype=bool)
    used[mask] = True
    return PhotometricSolution(
        plan=plan,
        coefficients=rows,
        ref_mag=ref_col,
        filters=filters,
        columns=columns,
        xy_center=xy_center,
        xy_scale=xy_scale,
        images=images,
        zeropoint=zeropoint,
        n_input=n_input,
        n_valid=int(valid.sum()),
        n_used=n_used,
        rms=rms,
        chi2_red=float(chi2_red),
        dof=dof,
        criterion=f"partial F-test, alpha={alpha:g} to enter and to stay",
        alpha=alpha,
        clip=clip,
        used=used,
        valid=valid,
        covariance=cov,
        _free=[params[c] for c in cols],
        colour_convention=colour_convention,
        shape=shape,
        shape_free=fitted,
    )


def _shape_builder(
    build_full: Any, shape: dict[str, float], names: list[str], cols: list[int]
) -> Any:
    """θ -> (design columns ``cols``, target) with the non-linear values ``names`` set to θ."""

    def build(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        design, target = build_full(dict(shape, **dict(zip(names, map(float, theta)))))
        return design[:, cols], target

    return build


def _shape_target(target_of: Any, shape: dict[str, float], names: list[str]) -> Any:
    """θ -> target with the non-linear values ``names`` set to θ (the design does not move)."""

    def target(theta: np.ndarray) -> np.ndarray:
        return target_of(dict(shape, **dict(zip(names, map(float, theta)))))

    return target


def _rational_in_model(
    active: list[str],
    rs_cols: list[int],
    groups: dict[str, dict[str, Any]],
    selected: list[str],
    params: list[_Param],
) -> bool:
    """Whether RS (which RO and RC shape) is in the model, fitted or fixed."""
    if not ({"RO", "RC"} & set(active)):
        return True
    if not rs_cols:
        return True  # RS fixed (the parser refuses RO/RC without any RS)
    return "RS" in selected
