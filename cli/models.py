"""``xrbid models``: stellar-model files (MIST isochrones and tracks, PARSEC/CMD output)."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import XrbidGroup, emit
from ._options import json_option


@click.group("models", cls=XrbidGroup)
def models() -> None:
    """Stellar-model files for donor masses (MIST .iso.cmd/.eep.cmd, PARSEC/CMD tables)."""


@models.command("info")
@click.argument(
    "paths",
    metavar="FILE...",
    nargs=-1,
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
)
@json_option
def info(paths: tuple[Path, ...], as_json: bool) -> None:
    """List the ages, metallicities, mass range and photometric bands of model files.

    Several files (e.g. one MIST EEP track per mass) are read as one set.

    \b
    Example:
      xrbid models info MIST_iso_5fd2532653c27.iso.cmd
    """
    from xrbid.classify.models import read_models

    m = read_models(paths[0] if len(paths) == 1 else list(paths))
    data = m.info()
    ages = data["log_ages"]
    age_text = (
        ", ".join(f"{a:g}" for a in ages)
        if len(ages) <= 12
        else f"{len(ages)} values, {ages[0]:g}-{ages[-1]:g}"
    )
    lo, hi = data["initial_mass_range"]
    lines = [
        f"{data['path']}: {data['kind']}, {data['n_models']} model(s), {data['n_points']} points",
        f"  photometric system: {data['photometric_system'] or '(not stated)'}",
        f"  log10(age/yr): {age_text}",
        f"  [Fe/H]: {', '.join(f'{z:g}' for z in data['metallicities'])}",
        f"  initial mass: {lo:.4g}-{hi:.4g} Msun",
        f"  bands: {', '.join(data['bands'])}",
    ]
    emit("\n".join(lines), data, as_json)
