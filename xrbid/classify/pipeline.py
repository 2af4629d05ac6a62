"""All of the classification on a candidates table: `classify_candidates`."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from xrbid.errors import ColumnError, InputError

from .chance import FalseMatchRate, candidate_chance, false_match_rate, local_density
from .donors import classify_sources, distance_modulus, donor_masses
from .models import StellarModels, read_models
from .probabilities import association_probabilities, estimate_magnitude_weight

__all__ = ["Classification", "apply_flags", "classify_candidates", "xray_from_candidates"]

_FLAG_KEYS = (("source_id", "rank"), ("optical_id",), ("optical_index",))


@dataclass
class Classification:
    """Result of `classify_candidates`.

    Attributes
    ----------
    candidates : pandas.DataFrame
        One row per candidate with the added columns (``a_<f>``, ``<f>_mag_dered``,
        ``n_chance``, ``p_chance``, ``p_i``, ``best``, ``mass``, ``mass_class``...).
    sources : pandas.DataFrame
        One row per X-ray source: ``p_any``, ``best_candidate``, ``xrb_class``...
    false_match : FalseMatchRate or None
        The shifted-catalogue rate, when asked for.
    info : dict
        What was done and with which settings (for a JSON summary).
    """

    candidates: pd.DataFrame
    sources: pd.DataFrame
    false_match: FalseMatchRate | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Summary as plain Python (no tables)."""
        classes = self.sources["xrb_class"].value_counts().to_dict()
        return {
            **self.info,
            "candidates": len(self.candidates),
            "sources": len(self.sources),
            "xrb_classes": {k: int(v) for k, v in classes.items()},
            "false_match": self.false_match.to_dict() if self.false_match else None,
        }


def xray_from_candidates(candidates: pd.DataFrame) -> pd.DataFrame:
    """One row per X-ray source from a candidates table (``xray_ra``, ``xray_dec``, radii)."""
    need = ["source_id", "xray_ra", "xray_dec", "pu_1sigma", "pu_2sigma"]
    missing = [c for c in need if c not in candidates.columns]
    if missing:
        raise ColumnError(
            f"the candidates table lacks {', '.join(missing)}; give the X-ray table too (--xray)"
        )
    x = candidates[need].drop_duplicates("source_id").reset_index(drop=True)
    return x.rename(columns={"xray_ra": "ra", "xray_dec": "dec"})


def apply_flags(candidates: pd.DataFrame, flags: pd.DataFrame) -> pd.DataFrame:
    """Copy ``object_type`` (cluster / foreground / background / star) from a flag table.

    The flag table identifies candidates by ``source_id`` + ``rank``, by ``optical_id`` or
    by ``optical_index`` (the first of these both tables have). Flags override the
    candidates' own ``object_type``; unflagged candidates keep theirs.

    Raises
    ------
    ColumnError
        The flag table lacks ``object_type`` or any shared key.
    """
    if "object_type" not in flags.columns:
        raise ColumnError("the flag table lacks an object_type column (cluster/foreground/...)")
    for keys in _FLAG_KEYS:
        if all(k in flags.columns and k in candidates.columns for k in keys):
            break
    else:
        raise ColumnError(
            "the flag table shares no key with the candidates: give source_id and rank, "
            "optical_id, or optical_index"
        )
    keys = list(keys)
    f = flags[[*keys, "object_type"]].copy()
    for k in keys:
        f[k] = f[k].astype(str)
    left = candidates[keys].astype(str)
    merged = left.merge(f.drop_duplicates(keys), on=keys, how="left")
    out = candidates.copy()
    new = merged["object_type"].to_numpy(dtype=object)
    old = (
        out["object_type"].to_numpy(dtype=object)
        if "object_type" in out.columns
        else np.full(len(out), "", dtype=object)
    )
    out["object_type"] = np.where(pd.isna(new), old, new)
    return out


def _filters(candidates: pd.DataFrame) -> list[str]:
    """Filters with a ``<filter>_mag`` column (``abs_mag`` of an earlier run is not one)."""
    names = [str(c)[: -len("_mag")] for c in candidates.columns if str(c).endswith("_mag")]
    return [n for n in names if n and "_" not in n and n != "abs"]


def _header_pivots(candidates: pd.DataFrame) -> dict[str, float]:
    """PHOTPLAM per filter recorded by `photometer_counterparts` in ``attrs``, when there."""
    out = {}
    for filt, info in (candidates.attrs.get("photometry") or {}).items():
        zp = info.get("zeropoints") if isinstance(info, Mapping) else None
        plam = zp.get("photplam") if isinstance(zp, Mapping) else None
        if isinstance(plam, int | float) and np.isfinite(plam) and plam > 0:
            out[str(filt).upper()] = float(plam)
    return out


def _cmd_filters(
    filters: list[str],
    colour: tuple[str, str] | None,
    mag: str | None,
    camera: str,
    pivots: Mapping[str, float] | None,
) -> tuple[tuple[str, str] | None, str | None]:
    """The CMD's (blue, red) colour and magnitude filter: given, or the table's first two
    filters ordered by pivot wavelength, with the blue one as magnitude."""
    if colour is None and len(filters) >= 2:
        from xrbid.photometry.extinction import pivot_wavelength

        given = {k.upper(): v for k, v in (pivots or {}).items()}
        first = filters[:2]
        blue, red = sorted(first, key=lambda f: given.get(f.upper()) or pivot_wavelength(f, camera))
        colour = (blue, red)
    if mag is None and colour is not None:
        mag = colour[0]
    return colour, mag


def classify_candidates(
    candidates: pd.DataFrame,
    *,
    models: StellarModels | str | os.PathLike | Sequence[str | os.PathLike] | None = None,
    distance_pc: float | None = None,
    dist_mod: float | None = None,
    ebv: float = 0.0,
    rv: float = 3.1,
    law: str = "F99",
    ebv_scale: str = "sf11",
    camera: str = "ACS/WFC",
    pivots: Mapping[str, float] | None = None,
    optical: pd.DataFrame | None = None,
    xray: pd.DataFrame | None = None,
    density: float | None = None,
    annulus: tuple[float, float] = (5.0, 20.0),
    completeness: float = 0.5,
    colour: tuple[str, str] | None = None,
    mag: str | None = None,
    log_age: float | None = None,
    mass_limits: tuple[float, float] = (3.0, 8.0),
    max_cmd_distance: float = 1.0,
    flags: pd.DataFrame | None = None,
    n_shifts: int = 0,
    magnitude_prior: bool = False,
) -> Classification:
    """Extinction, chance coincidences, match probabilities, donor masses and XRB classes.

    Each part runs when its inputs are there: dereddening when the table has ``<f>_mag``
    columns; chance coincidences and probabilities with the full optical catalogue
    (``optical``) or a fixed ``density``; masses with ``models`` and a distance.

    Parameters
    ----------
    candidates : pandas.DataFrame
        From `xrbid.selection.find_counterparts` (+ `photometer_counterparts`).
    models : StellarModels, path or paths, optional
        Isochrones/tracks (MIST ``.iso.cmd``/``.eep.cmd``, PARSEC) in the images' bands.
    distance_pc, dist_mod : float, optional
        Distance (pc) or distance modulus (mag); one is needed with ``models``.
    ebv, rv, law, ebv_scale, camera, pivots
        Extinction (see `xrbid.photometry.extinction.deredden`); E(B-V) on the SF11 scale.
        Without ``pivots``, the PHOTPLAM that `photometer_counterparts` records in the
        table's ``attrs`` is used, then the camera's table.
    optical : pandas.DataFrame, optional
        All optical sources (``ra``, ``dec``, magnitudes) for the local density.
    xray : pandas.DataFrame, optional
        One row per X-ray source (default: from the candidates' ``xray_ra``/``xray_dec``).
        Sources without candidates then appear as unclassified.
    density : float, optional
        A fixed density of optical sources (arcsec^-2) instead of ``optical``.
    annulus : (float, float)
        Inner/outer radius (arcsec) of the local-density annulus.
    completeness : float
        Prior fraction of X-ray sources with an optical counterpart.
    colour : (str, str), optional
        CMD colour filters (default: the first two filters of the table, blue first).
    mag : str, optional
        CMD magnitude filter (default: the blue filter of ``colour``).
    log_age : float, optional
        Use only the model isochrone of the nearest age.
    mass_limits : (float, float)
        Low/intermediate and intermediate/high donor-mass limits (Msun).
    max_cmd_distance : float
        Candidates further (mag) from every model get no mass.
    flags : pandas.DataFrame, optional
        ``object_type`` per candidate (see `apply_flags`).
    n_shifts : int
        Shifted X-ray catalogues for the field false-match rate (0: skip; needs ``optical``).
    magnitude_prior : bool
        Weight the probabilities by the counterparts' magnitude distribution, estimated
        from the data (`estimate_magnitude_weight`) in the CMD magnitude filter; needs
        ``optical`` with that magnitude.

    Returns
    -------
    Classification

    Raises
    ------
    InputError, ColumnError
        Missing inputs for a requested part, or bad values.
    """
    if "source_id" not in candidates.columns:
        raise ColumnError("the candidates table lacks source_id (run `xrbid counterparts`)")
    out = candidates.reset_index(drop=True).copy()
    info: dict[str, Any] = {"steps": []}
    filters = _filters(out)
    # the images' PHOTPLAM (kept in attrs by photometer_counterparts) unless pivots are given
    pivots = {**_header_pivots(candidates), **{k.upper(): v for k, v in (pivots or {}).items()}}

    if filters:
        from xrbid.photometry.extinction import deredden

        out = deredden(
            out,
            ebv,
            filters=filters,
            law=law,
            rv=rv,
            camera=camera,
            pivots=pivots,
            ebv_scale=ebv_scale,
        )
        info["steps"].append("extinction")
        info["extinction"] = out.attrs["extinction"]

    colour, mag = _cmd_filters(filters, colour, mag, camera, pivots)
    xr = xray.reset_index(drop=True) if xray is not None else xray_from_candidates(out)
    if optical is not None or density is not None:
        mag_col = None
        if magnitude_prior and optical is None:
            raise InputError("the magnitude prior needs the optical catalogue (--optical)")
        if optical is not None:
            band = (mag or "").lower()
            if band and f"{band}_mag" in out.columns and f"{band}_mag" in optical.columns:
                mag_col = f"{band}_mag"
            chance = candidate_chance(out, xr, optical, mag_column=mag_col, annulus=annulus)
            for col in ("local_density", "n_chance", "p_chance"):
                out[col] = chance[col].to_numpy()
            # an empty annulus is no evidence of an empty field: one source in it at most
            empty = out["local_density"].to_numpy() == 0
            if empty.any():
                area = chance["annulus_area"].to_numpy()
                with np.errstate(divide="ignore"):
                    floor = np.where(area[empty] > 0, 1.0 / area[empty], np.nan)
                out.loc[empty, "local_density"] = floor
                info["empty_annuli"] = int(pd.Series(out["source_id"][empty]).nunique())
            rho: str | float = "local_density"
        else:
            if not (np.isfinite(density) and density > 0):
                raise InputError(f"the optical source density must be a number > 0, got {density}")
            out["local_density"] = float(density)
            r = pd.to_numeric(out["pu_2sigma"], errors="coerce").to_numpy(float)
            out["n_chance"] = np.pi * r**2 * float(density)
            out["p_chance"] = -np.expm1(-out["n_chance"].to_numpy())
            rho = float(density)
        info["steps"].append("chance")
        info["chance_magnitude_limited"] = mag_col
        weight = None
        if magnitude_prior:
            if mag_col is None:
                raise InputError(
                    "the magnitude prior needs the CMD magnitude (e.g. f555w_mag) in both the "
                    "candidates and the --optical table"
                )
            dens = local_density(xr, optical, annulus=annulus)
            r2 = pd.to_numeric(xr["pu_2sigma"], errors="coerce").to_numpy(float)
            background = float(np.nansum(np.pi * r2**2 * dens["density"].to_numpy()))
            weight = estimate_magnitude_weight(out[mag_col], optical[mag_col], background)
            info["magnitude_prior"] = mag_col
        out, src_p = association_probabilities(
            out,
            density=rho,
            completeness=completeness,
            magnitude_weight=weight,
            mag_column=mag_col,
        )
        info["steps"].append("probabilities")
        info["completeness"] = completeness
    else:
        src_p = None

    if models is not None:
        m = models if isinstance(models, StellarModels) else read_models(models)
        if log_age is not None:
            m = m.select(log_age=log_age)
        if dist_mod is None:
            if distance_pc is None:
                raise InputError("donor masses need the distance (--distance 6.4Mpc)")
            dist_mod = distance_modulus(distance_pc)
        if colour is None or mag is None:
            raise InputError(
                "donor masses need magnitudes in two filters (<f>_mag columns, from "
                "`xrbid phot counterparts` with two images) or --colour BLUE-RED"
            )
        out = donor_masses(
            out,
            m,
            colour=(colour[0], colour[1]),
            mag=mag,
            distance_modulus=dist_mod,
            limits=mass_limits,
            max_distance=max_cmd_distance,
            dered=bool(filters),
        )
        info["steps"].append("donor masses")
        info.update(
            {
                "models": m.path,
                "models_kind": m.kind,
                "distance_modulus": float(dist_mod),
                "cmd": {"colour": list(colour), "mag": mag},
                "mass_limits": list(mass_limits),
            }
        )
    if flags is not None:
        out = apply_flags(out, flags)
    if "mass_class" not in out.columns:
        out["mass_class"] = ""
    all_ids = xr["source_id"].to_numpy() if "source_id" in xr.columns else None
    sources = classify_sources(out, sources=all_ids)
    if src_p is not None:
        sources = sources.merge(src_p, on="source_id", how="left")
        # a source without candidates has p_any = 0; one whose candidates have no probability
        # (no radius, separation or density) keeps NaN: it is unknown, not zero
        none = sources["n_candidates"].isna()
        sources.loc[none, "p_any"] = 0.0
        sources["n_candidates"] = sources["n_candidates"].fillna(0).astype(int)
        # the best candidate's optical identity is more useful than a row number
        ident = next((c for c in ("optical_id", "optical_index") if c in out.columns), None)
        if ident is not None:
            rows = sources["best_candidate"]
            has = rows.notna()
            ids = np.full(len(sources), None, dtype=object)
            ids[has.to_numpy()] = out[ident].to_numpy()[rows[has].astype(int).to_numpy()]
            sources[f"best_{ident}"] = ids
    false_match = None
    if n_shifts:
        if optical is None:
            raise InputError("the shifted-catalogue false-match rate needs the optical catalogue")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            false_match = false_match_rate(xr, optical, n_shifts=n_shifts)
        info["steps"].append("false-match rate")
    return Classification(out, sources, false_match, info)
