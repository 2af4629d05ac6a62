"""``xrbid figures``: finder charts and colour–magnitude diagrams for papers."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import XrbidGroup, emit
from ._options import (
    ANGLE,
    FILE,
    extinction_options,
    filter_values,
    json_option,
    output_option,
    overwrite_option,
    table_argument,
)


@click.group("figures", cls=XrbidGroup)
def figures() -> None:
    """Figures for papers: finder charts and colour-magnitude diagrams.

    The format of every figure follows its file name: .pdf, .png, .svg, .eps, .jpg.
    """


def _distance(text: str | None):
    if text is None:
        return None
    from astropy import units as u

    try:
        q = u.Quantity(text)
    except (TypeError, ValueError):
        raise click.BadParameter(
            f"{text!r} is not a distance; write it like 6.4Mpc", param_hint="--distance"
        ) from None
    if q.unit == u.dimensionless_unscaled:
        q = q.value * u.Mpc
    if q.unit.physical_type != "length":
        raise click.BadParameter(
            f"{text!r} is not a distance; write it like 6.4Mpc", param_hint="--distance"
        )
    return q


@figures.command("finder")
@table_argument()
@click.option(
    "--candidates",
    "cands_path",
    type=FILE,
    help="Candidate table (xrbid counterparts); drawn numbered by their rank.",
)
@click.option(
    "--image",
    "images",
    multiple=True,
    required=True,
    help="FILTER=IMAGE; once for a grey-scale stamp, three times for colour. "
    "IMAGE may end in [ext].",
)
@output_option(
    "finder.pdf (several charts per page) or finder.png (one file per source, "
    "finder_<source_id>.png)."
)
@click.option(
    "--size",
    type=ANGLE,
    help="Side of each stamp, e.g. 6arcsec [default: 4 x 2-sigma, >= 3 arcsec].",
)
@click.option("--distance", type=str, help="Distance of the galaxy (6.4Mpc): scale bar in pc.")
@click.option(
    "--per-page", type=click.IntRange(1), default=6, show_default=True, help="Charts per PDF page."
)
@click.option(
    "--sources",
    "only",
    help="Only these source IDs (comma-separated).",
)
@overwrite_option
@json_option
def finder(
    table_path: Path,
    cands_path: Path | None,
    images: tuple[str, ...],
    output: Path,
    size: float | None,
    distance: str | None,
    per_page: int,
    only: str | None,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Finder charts of the X-ray sources in TABLE (one row per source, with pu_2sigma).

    Each chart shows the image around the source (grey, or colour from three filters), the
    1-sigma (dashed) and 2-sigma (solid) circles, the candidates numbered as in the
    candidate table, a north/east compass and a scale bar.

    \b
    Example (M101):
      xrbid figures finder m101_best.ecsv --candidates m101_cand.ecsv \\
          --image F555W=f555w_drc.fits --distance 6.4Mpc -o m101_finders.pdf
    """
    from xrbid.figures import check_figure_path, write_finder_charts
    from xrbid.tables import read_table

    from ._phot_common import filter_images, load_image_arg

    check_figure_path(output, overwrite)
    if len(images) not in (1, 3):
        raise click.BadParameter(
            f"give one image (grey scale) or three (colour), not {len(images)}",
            param_hint="--image",
        )
    pairs = filter_images(images)
    dist = _distance(distance)
    sources = read_table(
        table_path,
        required=["source_id", "ra", "dec", "pu_2sigma"],
        what="finder charts (run `xrbid best` first)",
    )
    if only:
        wanted = [s.strip() for s in only.split(",") if s.strip()]
        unknown = sorted(set(wanted) - set(sources["source_id"].astype(str)))
        if unknown:
            raise click.BadParameter(
                f"not in {table_path}: {', '.join(unknown)}", param_hint="--sources"
            )
        sources = sources[sources["source_id"].astype(str).isin(wanted)]
    cands = (
        read_table(
            cands_path,
            required=["source_id", "ra", "dec"],
            what="the candidates",
            allow_empty=True,
        )
        if cands_path
        else None
    )
    imgs = {f: load_image_arg(spec, None, None) for f, spec in pairs}
    written = write_finder_charts(
        sources,
        imgs,
        output,
        cands,
        size=size,
        distance=dist,
        per_page=per_page,
        overwrite=overwrite,
    )
    n = len(sources)
    shown = str(written[0]) if len(written) == 1 else f"{len(written)} files ({written[0]}, ...)"
    emit(
        f"{table_path}: finder charts in {'/'.join(imgs)} -> {shown}",
        {"sources_given": n, "filters": list(imgs), "outputs": [str(p) for p in written]},
        as_json,
    )


@figures.command("cmd")
@table_argument()
@click.option(
    "--color",
    "colour",
    required=True,
    help="Colour on the x axis, BLUE-RED, e.g. F555W-F814W (any two measured filters).",
)
@click.option("--mag", help="Filter on the y axis [default: the red filter of --color].")
@click.option("--absolute", is_flag=True, help="Absolute magnitudes (<filter>_abs_mag).")
@click.option(
    "--label",
    "labels",
    multiple=True,
    help="Label these candidates (repeat): SOURCE_ID (all its candidates) or SOURCE_ID:RANK.",
)
@click.option(
    "--extinction",
    "extinction",
    multiple=True,
    help="FILTER=A (repeat): extinction A in mag of each filter of the plot; draws the "
    "reddening vector.",
)
@click.option(
    "--ebv",
    type=float,
    help="Draw the reddening vector of this foreground E(B-V) (Schlafly & Finkbeiner 2011 "
    "scale), A per filter from the extinction law at its pivot wavelength.",
)
@extinction_options
@click.option(
    "--models",
    "model_paths",
    multiple=True,
    type=FILE,
    help="Stellar models (MIST .iso.cmd/.eep.cmd, PARSEC) drawn as tracks, one per age; "
    "repeat for several files.",
)
@click.option(
    "--distance-modulus",
    "dist_mod",
    type=float,
    help="Shifts the models' absolute magnitudes onto the apparent ones of the plot.",
)
@click.option(
    "--track",
    "tracks",
    multiple=True,
    type=FILE,
    help="Model track or isochrone table (repeat): columns colour and mag, or one column "
    "per filter; on the same magnitude scale as the y axis.",
)
@click.option(
    "--system",
    type=click.Choice(["vega", "ab", "st"]),
    help="Magnitude system for the axis labels [default: as recorded by the photometry].",
)
@click.option("--title", help="Title above the plot (none by default).")
@output_option("Figure file: .pdf .png .svg .eps .jpg.")
@overwrite_option
@json_option
def cmd(
    table_path: Path,
    colour: str,
    mag: str | None,
    absolute: bool,
    labels: tuple[str, ...],
    extinction: tuple[str, ...],
    ebv: float | None,
    ebv_scale: str,
    rv: float,
    law: str,
    camera: str,
    model_paths: tuple[Path, ...],
    dist_mod: float | None,
    tracks: tuple[Path, ...],
    system: str | None,
    title: str | None,
    output: Path,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Colour-magnitude diagram of the candidate photometry in TABLE (xrbid phot counterparts).

    Flagged points (edge, crowded, outside, saturated) are drawn as open grey squares.
    When no candidate has both the colour and the magnitude, nothing is written and one
    line says why.

    \b
    Example (M101: one source's candidates labelled, the reddening vector of E(B-V) = 0.1,
    MIST isochrones at the distance modulus of 6.4 Mpc):
      xrbid figures cmd m101_cand_phot.ecsv --color F555W-F814W --mag F555W \\
          --label "2CXO J140312.5+542056" --ebv 0.1 \\
          --models MIST_iso_HST_ACSWF.iso.cmd --distance-modulus 29.03 -o m101_cmd.pdf
    """
    from xrbid.figures import check_figure_path, cmd_data, parse_color, plot_cmd, save_figure
    from xrbid.tables import read_table

    check_figure_path(output, overwrite)
    blue, red = parse_color(colour)
    y = (mag or red).upper()
    if ebv is not None and extinction:
        raise click.BadParameter("give --ebv or --extinction, not both", param_hint="--ebv")
    if model_paths and not absolute and dist_mod is None:
        raise click.BadParameter(
            "models are absolute magnitudes: give --distance-modulus, or plot --absolute",
            param_hint="--models",
        )
    table = read_table(table_path)
    a_values = filter_values(extinction, "--extinction", "F555W=0.30", "A (mag)") or None
    label = None
    if ebv is not None:
        from xrbid.photometry.extinction import a_lambda

        a_values = a_lambda(
            {blue, red, y}, ebv, law=law.upper(), rv=rv, camera=camera, ebv_scale=ebv_scale
        )
        label = f"E(B\N{MINUS SIGN}V) = {ebv:g}"
    models = {p.stem: read_table(p) for p in tracks}
    if model_paths:
        from xrbid.classify.models import read_models
        from xrbid.figures import model_tracks

        shift = 0.0 if absolute else float(dist_mod)
        models.update(model_tracks(read_models(list(model_paths)), distance_modulus=shift))
    fig = plot_cmd(
        table,
        (blue, red),
        mag,
        absolute=absolute,
        labels=list(labels) or None,
        system=system,
        extinction=a_values,
        extinction_label=label,
        tracks=models or None,
        title=title,
    )
    save_figure(fig, output, overwrite=overwrite, dpi=200)
    points = cmd_data(table, (blue, red), y, absolute=absolute)
    drawn = points[points["drawable"]]
    n, flagged = len(drawn), int(drawn["flagged"].sum())
    emit(
        f"{table_path}: CMD {y} vs {blue}-{red}: {n} of {len(table)} candidate(s) drawn "
        f"({flagged} flagged) -> {output}",
        {
            "output": str(output),
            "color": [blue, red],
            "mag": y,
            "rows": len(table),
            "drawn": n,
            "flagged": flagged,
            "extinction": a_values,
        },
        as_json,
    )


__all__ = ["figures"]
