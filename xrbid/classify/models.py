"""Stellar-model files as downloaded by users: MIST isochrones and EEP tracks, PARSEC (CMD) output.

Readers for the text files of

- MIST v1.x (Dotter 2016, ApJS 222, 8; Choi et al. 2016, ApJ 823, 102), synthetic-photometry
  versions: isochrones ``*.iso.cmd`` (one block per age, each with its "# number of EEPs,
  cols" line and a commented column-name line) and EEP tracks ``*.track.eep.cmd`` (one initial
  mass per file, given in the header);
- PARSEC isochrones from the CMD web interface (Bressan et al. 2012, MNRAS 427, 127;
  http://stev.oapd.inaf.it/cmd), versions 3.x: a commented header, then a commented column-name
  line starting ``# Zini ... logAge Mini ...`` and one table for all ages and metallicities.

Any photometric system: every magnitude column of the file is a band (``ACS_WFC_F555W``,
``PS_g``, ``F555Wmag``...). The common table has ``log_age`` (log10 yr), ``feh`` ([Fe/H] or
[M/H]), ``initial_mass`` (Msun), ``phase`` and ``model`` (one label per isochrone or track), plus
the band columns under their names in the file (without PARSEC's ``mag`` suffix).
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xrbid.errors import InputError

__all__ = ["StellarModels", "read_models"]

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eEdD][+-]?\d+)?$")
# non-band columns of the MIST and PARSEC files
_MIST_NONBAND = {
    "eep",
    "isochrone_age_yr",
    "log10_isochrone_age_yr",
    "initial_mass",
    "star_mass",
    "star_age",
    "log_teff",
    "log_g",
    "log_l",
    "[fe/h]_init",
    "[fe/h]",
    "phase",
    "z_surf",
    "surface_h1",
}
_PARSEC_NONBAND = {
    "zini",
    "mh",
    "logage",
    "mini",
    "int_imf",
    "mass",
    "logl",
    "logte",
    "logg",
    "label",
    "mcoretp",
    "c_o",
    "period0",
    "period1",
    "period2",
    "period3",
    "period4",
    "pmode",
    "mloss",
    "tau1m",
    "x",
    "y",
    "xc",
    "xn",
    "xo",
    "cexcess",
    "z",
    "mbolmag",
    "z_surf",
    "feh",
}
_PARSEC_ZSUN = 0.0152  # Bressan et al. 2012: [M/H] = log10(Z / 0.0152) when MH is absent


def _is_number(token: str) -> bool:
    return bool(_NUMBER.match(token))


@dataclass
class StellarModels:
    """Isochrones or tracks in one table.

    Attributes
    ----------
    table : pandas.DataFrame
        ``model``, ``log_age``, ``feh``, ``initial_mass``, ``phase`` and one column per band
        (absolute magnitudes), in file order within each model.
    kind : str
        ``"MIST isochrones"``, ``"MIST EEP track"`` or ``"PARSEC isochrones"``.
    system : str
        The photometric system named in the file header (``""`` when not given).
    bands : list of str
        Band columns of ``table``.
    path : str
        The file(s) read.
    header : dict
        Header values of the file (e.g. MIST's ``Yinit``, ``Av``).
    """

    table: pd.DataFrame
    kind: str
    system: str
    bands: list[str]
    path: str
    header: dict[str, Any] = field(default_factory=dict)

    @property
    def ages(self) -> np.ndarray:
        """Distinct log10(age/yr) of the isochrones (of all points for tracks)."""
        return np.unique(np.round(self.table["log_age"].to_numpy(float), 4))

    @property
    def metallicities(self) -> np.ndarray:
        """Distinct [Fe/H] (or [M/H])."""
        return np.unique(np.round(self.table["feh"].to_numpy(float), 4))

    def band(self, filter_name: str) -> str:
        """The band column of a filter, e.g. ``"F555W"`` -> ``"ACS_WFC_F555W"``.

        Raises
        ------
        InputError
            No band, or several bands, end with the filter name.
        """
        key = str(filter_name).strip().lower()
        exact = [b for b in self.bands if b.lower() == key]
        if exact:
            return exact[0]
        hits = [b for b in self.bands if re.split(r"[_\s]", b.lower())[-1] == key]
        if len(hits) == 1:
            return hits[0]
        if not hits:
            raise InputError(
                f"the models ({self.path}) have no {filter_name} band; their bands are "
                f"{', '.join(self.bands)} (download the models in the images' photometric system)"
            )
        raise InputError(f"several model bands match {filter_name}: {', '.join(hits)}; name one")

    def select(self, log_age: float | None = None, feh: float | None = None) -> StellarModels:
        """The models of the nearest age and/or metallicity in the file."""
        t = self.table
        for col, value in (("log_age", log_age), ("feh", feh)):
            if value is None:
                continue
            if not np.isfinite(value):
                raise InputError(f"the {col} to select must be a finite number, got {value}")
            values = np.unique(t[col].to_numpy(float))
            nearest = values[np.argmin(np.abs(values - float(value)))]
            t = t[np.isclose(t[col].to_numpy(float), nearest)]
        return StellarModels(
            t.reset_index(drop=True), self.kind, self.system, self.bands, self.path, self.header
        )

    def cmd_curves(
        self,
        colour: tuple[str, str],
        mag: str,
        *,
        distance_modulus: float = 0.0,
        reddening: tuple[float, float] = (0.0, 0.0),
    ) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """The models as curves on a CMD, for plotting beside the candidates.

        Parameters
        ----------
        colour : (str, str)
            Blue and red filter of the colour axis.
        mag : str
            Filter of the magnitude axis.
        distance_modulus : float
            Added to the magnitudes (0: absolute magnitudes).
        reddening : (float, float)
            ``(E(colour), A_mag)`` added to colour and magnitude, e.g. from
            `xrbid.photometry.extinction.extinction_vector`.

        Returns
        -------
        list of (label, colour, magnitude)
            One entry per isochrone/track; the label gives its age and [Fe/H] (isochrones) or
            initial mass (tracks).
        """
        blue, red, band = self.band(colour[0]), self.band(colour[1]), self.band(mag)
        curves = []
        for _, t in self.table.groupby("model", sort=True):
            if self.kind.endswith("track"):
                label = f"{t['initial_mass'].iloc[0]:g} Msun"
            else:
                label = f"log t = {t['log_age'].iloc[0]:.2f}, [Fe/H] = {t['feh'].iloc[0]:+.2f}"
            c = t[blue].to_numpy(float) - t[red].to_numpy(float) + reddening[0]
            m = t[band].to_numpy(float) + distance_modulus + reddening[1]
            curves.append((label, c, m))
        return curves

    def info(self) -> dict[str, Any]:
        """A summary: kind, system, ages, metallicities, mass range, bands, rows."""
        m = self.table["initial_mass"].to_numpy(float)
        return {
            "path": self.path,
            "kind": self.kind,
            "photometric_system": self.system,
            "n_models": int(self.table["model"].nunique()),
            "n_points": len(self.table),
            "log_ages": self.ages.tolist(),
            "metallicities": self.metallicities.tolist(),
            "initial_mass_range": [float(np.nanmin(m)), float(np.nanmax(m))] if m.size else [],
            "bands": list(self.bands),
        }


def _parse_header(comments: list[str]) -> dict[str, Any]:
    """Key/value pairs of a MIST-style header: ``name = value`` lines and name/value line pairs."""
    out: dict[str, Any] = {}
    tokens = [c.lstrip("#").split() for c in comments]
    for line in comments:
        text = line.lstrip("#").strip()
        if "=" in text and ":" not in text.split("=")[0]:
            key, value = text.split("=", 1)
            out[key.strip()] = value.strip()
        elif ":" in text and "=" in text:  # "CCM89 extinction: Av =  0.000"
            key, value = text.split(":", 1)[1].split("=", 1)
            out[key.strip()] = value.strip()
    for names, values in itertools.pairwise(tokens):
        if (
            names
            and len(names) == len(values)
            and not any(_is_number(n) for n in names)
            and _is_number(values[0])
        ):
            for n, v in zip(names, values):
                out[n] = float(v) if _is_number(v) else v
    return out


def _blocks(lines: list[str]) -> list[tuple[list[str], list[str]]]:
    """(comment lines before, data lines) for every run of data lines."""
    blocks, comments, data = [], [], []
    for line in lines:
        s = line.strip()
        if not s:
            continue
        if s.startswith("#"):
            if data:
                blocks.append((comments, data))
                comments, data = [], []
            comments.append(s)
        else:
            data.append(s)
    if data:
        blocks.append((comments, data))
    return blocks


def _table(names: list[str], data: list[str], path: str) -> pd.DataFrame:
    rows = [line.split() for line in data]
    # row by row: a short row followed by a long one must not shift the columns of both
    bad = next((row for row in rows if len(row) != len(names)), None)
    if bad is not None:
        raise InputError(
            f"{path}: rows do not have the {len(names)} columns the header names "
            f"(a row of {len(bad)}: {' '.join(bad)[:60]!r})"
        )
    try:
        arr = np.array(rows, dtype=float).reshape(-1, len(names))
    except ValueError as exc:
        raise InputError(f"{path}: a non-numeric value in the model table ({exc})") from None
    return pd.DataFrame(arr, columns=names)


def _read_mist(lines: list[str], path: str) -> StellarModels:
    blocks = _blocks(lines)
    header = _parse_header(blocks[0][0]) if blocks else {}
    system = str(header.get("photometric system", "")).strip()
    frames = []
    kind = "MIST isochrones"
    for n, (comments, data) in enumerate(blocks):
        names = comments[-1].lstrip("#").split()
        t = _table(names, data, path)
        low = {c.lower(): c for c in t.columns}
        if "isochrone_age_yr" in low:
            age = np.log10(t[low["isochrone_age_yr"]].to_numpy(float))
        elif "log10_isochrone_age_yr" in low:
            age = t[low["log10_isochrone_age_yr"]].to_numpy(float)
        elif "star_age" in low:
            kind = "MIST EEP track"
            with np.errstate(divide="ignore"):
                age = np.log10(t[low["star_age"]].to_numpy(float))
        else:
            raise InputError(f"{path}: a MIST table without isochrone_age_yr or star_age")
        if "initial_mass" in low:
            mass = t[low["initial_mass"]].to_numpy(float)
        elif "initial_mass" in header:
            mass = np.full(len(t), float(header["initial_mass"]))
        else:
            raise InputError(f"{path}: no initial mass in the table or the header")
        if "[fe/h]_init" in low:
            feh = t[low["[fe/h]_init"]].to_numpy(float)
        else:
            feh = np.full(len(t), float(header.get("[Fe/H]", np.nan)))
        bands = [c for c in t.columns if c.lower() not in _MIST_NONBAND]
        frame = pd.DataFrame(
            {
                "model": n,
                "log_age": age,
                "feh": feh,
                "initial_mass": mass,
                "phase": t[low["phase"]].to_numpy(float) if "phase" in low else np.nan,
            }
        )
        frames.append(pd.concat([frame, t[bands]], axis=1))
    if not frames:
        raise InputError(f"{path}: no model rows found")
    table = pd.concat(frames, ignore_index=True)
    bands = [
        c for c in table.columns if c not in ("model", "log_age", "feh", "initial_mass", "phase")
    ]
    return StellarModels(table, kind, system, bands, path, header)


def _read_parsec(lines: list[str], path: str) -> StellarModels:
    names_line = None
    data: list[str] = []
    comments: list[str] = []
    for line in lines:
        s = line.strip()
        if not s:
            continue
        toks = s.lstrip("#").split()
        if toks and toks[0] == "Zini":
            if names_line is None:
                names_line = toks
            continue  # CMD repeats the column line before each isochrone in some versions
        if s.startswith("#"):
            if names_line is None:
                comments.append(s)
            continue
        data.append(s)
    if names_line is None or not data:
        raise InputError(f"{path}: no PARSEC table (a line starting 'Zini ... logAge Mini')")
    t = _table(names_line, data, path)
    low = {c.lower(): c for c in t.columns}
    for need in ("logage", "mini"):
        if need not in low:
            raise InputError(f"{path}: the PARSEC table lacks the {need} column")
    if "mh" in low:
        feh = t[low["mh"]].to_numpy(float)
    else:
        feh = np.log10(t[low["zini"]].to_numpy(float) / _PARSEC_ZSUN)
    age = t[low["logage"]].to_numpy(float)
    model = pd.factorize(pd.Series(list(zip(np.round(age, 5), np.round(feh, 5)))))[0]
    bands = [c for c in t.columns if c.lower() not in _PARSEC_NONBAND]
    renamed = {c: c[:-3] if c.lower().endswith("mag") else c for c in bands}
    system = ""
    for c in comments:
        m = re.search(r"Photometric system:\s*(.*)", c)
        if m:
            system = m.group(1).strip()
    frame = pd.DataFrame(
        {
            "model": model,
            "log_age": age,
            "feh": feh,
            "initial_mass": t[low["mini"]].to_numpy(float),
            "phase": t[low["label"]].to_numpy(float) if "label" in low else np.nan,
        }
    )
    table = pd.concat([frame, t[bands].rename(columns=renamed)], axis=1)
    return StellarModels(table, "PARSEC isochrones", system, list(renamed.values()), path, {})


def read_models(path: str | os.PathLike | Iterable[str | os.PathLike]) -> StellarModels:
    """Read a MIST or PARSEC model file (or several, e.g. one EEP track per mass).

    Parameters
    ----------
    path : path-like or iterable of path-like
        ``*.iso.cmd`` / ``*.eep.cmd`` (MIST) or a CMD/PARSEC isochrone table. Several files are
        stacked (they must share the bands).

    Returns
    -------
    StellarModels

    Raises
    ------
    InputError
        Unreadable file, unknown layout, or files with different bands.

    Examples
    --------
    >>> m = read_models("testdata/mist-isochrone-panstarrs/MIST_iso_5fd2532653c27.iso.cmd")
    >>> m.kind, m.system, m.bands[:2], m.ages.tolist()  # doctest: +SKIP
    ('MIST isochrones', 'PanSTARRS (AB)', ['PS_g', 'PS_r'], [10.0792])
    """
    if not isinstance(path, str | os.PathLike):
        models = [read_models(p) for p in path]
        if not models:
            raise InputError("no model files given")
        bands = models[0].bands
        if any(m.bands != bands for m in models[1:]):
            raise InputError("the model files have different bands; use one photometric system")
        tables = []
        offset = 0
        for m in models:
            t = m.table.copy()
            t["model"] += offset
            offset = int(t["model"].max()) + 1
            tables.append(t)
        kind = models[0].kind if len({m.kind for m in models}) == 1 else "mixed"
        return StellarModels(
            pd.concat(tables, ignore_index=True),
            kind,
            models[0].system,
            bands,
            ", ".join(m.path for m in models),
            models[0].header,
        )
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read model file {p}: {exc.strerror or exc}") from None
    lines = text.splitlines()
    head = "\n".join(lines[:40])
    if "MIST" in head or "EEP" in head:
        return _read_mist(lines, str(p))
    if any(ln.lstrip("#").split()[:1] == ["Zini"] for ln in lines[:400] if ln.strip()):
        return _read_parsec(lines, str(p))
    raise InputError(
        f"{p} is neither a MIST (.iso.cmd/.eep.cmd) nor a PARSEC/CMD isochrone file; "
        "download the models with synthetic photometry (CMD output, or MIST *.cmd)"
    )
