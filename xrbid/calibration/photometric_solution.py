"""The result of a photometric calibration: the coefficients, their report, applying them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._design import (
    _COLOURS,
    _image_codes,
    _model_offset,
    _normalised,
    _numeric,
    _Param,
    _variables,
)
from .terms import TermPlan

__all__ = ["PhotometricSolution", "TermFit"]


@dataclass
class TermFit:
    """One row of the fit report: a coefficient of the model and how it got there.

    Attributes
    ----------
    name : str
        Parameter name: ``ZP``, a term (``PX``) or a per-image term (``PX:img``, ``ZP:img``).
    term : str
        The term without image (``ZP`` for the zero point).
    image : str or None
        The image of a per-image coefficient.
    status : {"zero point", "always", "kept", "dropped", "fixed"}
        ``kept``/``dropped`` are the stepwise decisions.
    coefficient, error : float
        Fitted value and its 1σ uncertainty. For a dropped term: the value it would take if
        added to the final model (it is not used by the model). For a fixed term: the value,
        with error 0.
    f_stat, p_value : float
        Partial F-test of the term's group against the final model: of removing it (terms in
        the model) or of adding it (dropped terms). NaN for the zero point and fixed terms.
    """

    name: str
    term: str
    image: str | None
    status: str
    coefficient: float
    error: float
    f_stat: float = math.nan
    p_value: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN becomes None)."""
        return {k: _clean(v) for k, v in self.__dict__.items()}


@dataclass
class PhotometricSolution:
    """A fitted photometric calibration.

    Attributes
    ----------
    plan : TermPlan
        The parsed and resolved term specification.
    coefficients : list of TermFit
        Report table, one row per coefficient (per image for per-image terms).
    ref_mag : str
        Catalogue column of the standard magnitude that was fitted.
    filters : tuple of str
        Catalogue columns whose differences define colours C, D, E, F.
    xy_center, xy_scale : tuple of float, float
        Normalisation of positions (``X = (x - x0)/s``).
    images : list of str
        Image identifiers of per-image coefficients (empty when nothing is per image).
    n_input, n_valid, n_used : int
        Rows given; rows with all needed values finite; rows kept by the clipping.
    rms : float
        Unweighted RMS of the residuals of the stars used (mag).
    chi2_red : float
        Reduced chi-square of the final fit (the covariance is scaled by it).
    dof : int
        Degrees of freedom of the final fit.
    criterion : str
        How stepwise terms were selected.
    alpha : float
        Significance level of the F-tests.
    clip : float
        Clipping threshold in robust standard deviations.
    colour_convention : {"dophot3", "index"}
        How the colours were formed (``colours`` spells them out).
    shape : dict of str to float
        The values of the non-linear terms (``XC``, ``SC``, ``RO``, ``RC``; fixed or fitted)
        and ``n0``, the centre of the ``RS`` term (median instrumental magnitude).
    shape_free : list of str
        The non-linear values that were fitted, in the order of `covariance` after the
        linear coefficients.
    """

    plan: TermPlan
    coefficients: list[TermFit]
    ref_mag: str
    filters: tuple[str, ...]
    columns: dict[str, str | None]
    xy_center: tuple[float, float]
    xy_scale: float
    images: list[str]
    zeropoint: str
    n_input: int
    n_valid: int
    n_used: int
    rms: float
    chi2_red: float
    dof: int
    criterion: str
    alpha: float
    clip: float
    used: np.ndarray = field(repr=False)
    valid: np.ndarray = field(repr=False)
    covariance: np.ndarray = field(repr=False)
    _free: list[_Param] = field(repr=False, default_factory=list)
    colour_convention: str = "dophot3"
    shape: dict[str, float] = field(default_factory=dict)
    shape_free: list[str] = field(default_factory=list)

    @property
    def n_clipped(self) -> int:
        """Valid stars rejected by the sigma clipping."""
        return self.n_valid - self.n_used

    @property
    def colours(self) -> dict[str, str]:
        """Colour definitions, e.g. ``{"C": "V - B"}`` (dophot3's convention) or ``"B - V"``."""
        f = self.filters
        if self.colour_convention == "index":
            return {_COLOURS[i]: f"{f[i]} - {f[i + 1]}" for i in range(max(len(f) - 1, 0))}
        return {_COLOURS[i]: f"{f[i + 1]} - {f[i]}" for i in range(max(len(f) - 1, 0))}

    def __getitem__(self, name: str) -> TermFit:
        for row in self.coefficients:
            if row.name == name:
                return row
        raise KeyError(f"no coefficient {name!r}; have {[r.name for r in self.coefficients]}")

    @property
    def kept(self) -> list[str]:
        """Names of the terms in the final model (zero point and fixed terms excluded)."""
        return _unique(r.term for r in self.coefficients if r.status in ("always", "kept"))

    @property
    def dropped(self) -> list[str]:
        """Names of the stepwise terms left out of the final model."""
        return _unique(r.term for r in self.coefficients if r.status == "dropped")

    def report(self) -> pd.DataFrame:
        """The report table: term, image, status, coefficient, error, F, p."""
        return pd.DataFrame([r.__dict__ for r in self.coefficients])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary of the fit."""
        return {
            "terms": self.plan.spec,
            "resolved_terms": self.plan.describe(),
            "resolution_notes": list(self.plan.notes),
            "ref_mag": self.ref_mag,
            "filters": list(self.filters),
            "colour_convention": self.colour_convention,
            "colours": self.colours,
            "nonlinear": {k: _clean(v) for k, v in self.shape.items() if k != "n0"},
            "n_center": _clean(self.shape.get("n0", math.nan)),
            "columns": dict(self.columns),
            "zeropoint": self.zeropoint,
            "xy_center": list(self.xy_center),
            "xy_scale": self.xy_scale,
            "images": list(self.images),
            "n_input": self.n_input,
            "n_valid": self.n_valid,
            "n_used": self.n_used,
            "n_clipped": self.n_clipped,
            "rms_mag": _clean(self.rms),
            "chi2_red": _clean(self.chi2_red),
            "dof": self.dof,
            "criterion": self.criterion,
            "alpha": self.alpha,
            "clip_sigma": self.clip,
            "kept": self.kept,
            "dropped": self.dropped,
            "coefficients": [r.to_dict() for r in self.coefficients],
            "covariance": {
                "parameters": [p.name for p in self._free] + list(self.shape_free),
                "matrix": self.covariance.tolist(),
            },
        }

    def model(self, table: pd.DataFrame) -> np.ndarray:
        """The fitted ``m_instr - m_std`` for each row of ``table`` (NaN where undefined)."""
        design, offset = self._design(table)
        return design @ self._beta() + offset

    def apply(self, table: pd.DataFrame) -> pd.DataFrame:
        """Calibrated magnitudes ``mag_cal = m_instr - model``, with their uncertainties.

        Parameters
        ----------
        table : pandas.DataFrame
            Stars with the columns the model needs (positions, airmass, colours, image) and the
            instrumental magnitude. It is not modified.

        Returns
        -------
        pandas.DataFrame
            A copy with ``mag_cal`` and ``mag_cal_err`` (instrumental error and model
            uncertainty in quadrature; the model part alone where there is no instrumental
            error column). Rows whose model is undefined (a colour or airmass missing, an image
            not in the fit) get NaN.
        """
        design, offset = self._design(table)
        model = design @ self._beta() + offset
        jac = np.hstack([design, self._shape_derivatives(table, model)])
        var_model = np.einsum("ij,jk,ik->i", jac, self.covariance, jac)
        mag = _numeric(table, self.columns["mag"])
        err_col = self.columns.get("mag_err")
        var = var_model + (_numeric(table, err_col) ** 2 if err_col else 0.0)
        out = table.copy()
        out["mag_cal"] = mag - model
        out["mag_cal_err"] = np.sqrt(var)
        return out

    # internals ------------------------------------------------------------------------------

    def _beta(self) -> np.ndarray:
        return np.array([self[p.name].coefficient for p in self._free])

    def _design(
        self, table: pd.DataFrame, shape: dict[str, float] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        shape = self.shape if shape is None else shape
        needed = self.plan.variables
        variables = _variables(
            table,
            needed,
            self.columns,
            self.filters,
            self.plan,
            ref=self.ref_mag,
            convention=self.colour_convention,
        )
        xy = _normalised(variables, self.xy_center, self.xy_scale)
        codes = _image_codes(table, self.columns.get("image"), self.images)
        n = len(table)
        design = np.empty((n, len(self._free)))
        for j, p in enumerate(self._free):
            design[:, j] = p.column(xy, codes, n, shape=shape)
        return design, _model_offset(self.plan, xy, n, shape)

    def _shape_derivatives(self, table: pd.DataFrame, model: np.ndarray) -> np.ndarray:
        """Derivatives of the model by each fitted non-linear value (numerical)."""
        out = np.zeros((len(table), len(self.shape_free)))
        for k, name in enumerate(self.shape_free):
            h = 1e-6 * max(1.0, abs(self.shape[name]))
            moved = dict(self.shape, **{name: self.shape[name] + h})
            design, offset = self._design(table, moved)
            out[:, k] = (design @ self._beta() + offset - model) / h
        return out


def _clean(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _unique(items: Any) -> list[str]:
    return list(dict.fromkeys(items))
