"""``xrbid phot counterparts``: magnitudes of the counterpart candidates in each filter."""

from __future__ import annotations

import warnings

import click

from xrbid.errors import InputError, XrbidWarning

from ._common import XrbidCommand, emit
from ._options import filter_values, json_option, output_option, overwrite_option, plot_option
from ._phot_common import (
    LENGTH,
    OUT,
    apcorr_fwhm_option,
    apcorr_option,
    check_default_fwhm,
    filter_images,
    load_image_arg,
    parse_apcorr,
    progress,
    radius_option,
)


@click.command("counterparts", cls=XrbidCommand)
@click.argument("candidates", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--image",
    "images",
    multiple=True,
    required=True,
    help="FILTER=IMAGE (repeat); IMAGE may end in [ext] or [chip=N].",
)
@output_option(type=OUT)
@radius_option
@click.option("--annulus", nargs=2, type=LENGTH, help="Background annulus R_IN R_OUT.")
@apcorr_option("auto, none, or a value in mag (all filters).")
@click.option(
    "--system",
    type=click.Choice(["vega", "ab", "st"]),
    default="vega",
    show_default=True,
    help="Magnitude system of the <filter>_mag columns.",
)
@click.option(
    "--zeropoint",
    "zeropoints",
    multiple=True,
    help="FILTER=VALUE (repeat): explicit zero point of that filter's <filter>_mag, "
    "used instead of the header/table one.",
)
@click.option(
    "--exptime",
    "exptimes",
    multiple=True,
    help="FILTER=SECONDS (repeat): exposure time of that filter's image, overriding or "
    "supplying its EXPTIME (for the Poisson term of the errors).",
)
@click.option("--distance-modulus", type=float, help="Adds <filter>_abs_mag columns.")
@apcorr_fwhm_option
@plot_option(
    "Also draw the colour-magnitude diagram of the two bluest filters; the format "
    "follows the suffix (.pdf .png .svg); `xrbid figures cmd` draws any pair.",
    dest="plot_path",
    type=OUT,
)
@overwrite_option
@json_option
def counterparts(
    candidates,
    images,
    output,
    radius,
    annulus,
    apcorr,
    system,
    zeropoints,
    exptimes,
    distance_modulus,
    fwhm,
    plot_path,
    overwrite,
    as_json,
) -> None:
    """Magnitudes of the counterpart CANDIDATES (ra, dec) in each filter, with colours.

    \b
    Example (M101 walkthrough):
      xrbid phot counterparts m101_candidates.ecsv --image F555W=f555w_drc.fits \\
          --image F814W=f814w_drc.fits -o m101_cand_phot.ecsv --plot m101_cmd.png
    """
    from xrbid._io import check_output
    from xrbid.figures import check_figure_path, plot_cmd, save_figure
    from xrbid.photometry import length_in_pixels, photometer_counterparts
    from xrbid.tables import read_table, write_table

    check_output(output, overwrite)
    pairs = filter_images(images)
    if plot_path:
        check_figure_path(plot_path, overwrite)
        if len(pairs) < 2:
            raise click.BadParameter("a CMD needs two filters (two --image)", param_hint="--plot")
    filters = {f.upper() for f, _ in pairs}
    zps = _of_filters(zeropoints, "--zeropoint", "F814W=25.52", "VALUE", filters)
    exps = _of_filters(exptimes, "--exptime", "F814W=1200", "SECONDS", filters)
    imgs = {f: load_image_arg(spec, None, None, exptime=exps.get(f.upper())) for f, spec in pairs}
    apcorr_value = parse_apcorr(apcorr)
    if apcorr_value == "auto":
        check_default_fwhm(list(imgs.values()))
    ann = None
    if annulus:
        first = next(iter(imgs.values()))
        ann = (length_in_pixels(annulus[0], first), length_in_pixels(annulus[1], first))
    cands = read_table(candidates, allow_empty=True)
    if len(cands) == 0:
        warnings.warn(
            f"{candidates} has no candidates (no optical source inside any X-ray circle); "
            "the output is an empty table with the photometry columns",
            XrbidWarning,
            stacklevel=1,
        )
    with progress(len(imgs), "filters", len(cands) > 20000 and not as_json) as update:
        result = photometer_counterparts(
            cands,
            imgs,
            radius=radius,
            annulus=ann,
            apcorr=apcorr_value,
            system=system,
            zeropoints=zps or None,
            distance_modulus=distance_modulus,
            fwhm=fwhm,
            progress=update,
        )
    order = result.attrs["filters"]
    write_table(result, output, overwrite=overwrite)
    if plot_path:
        try:
            fig = plot_cmd(result, order[:2], absolute=distance_modulus is not None)
        except InputError as exc:  # nothing to draw: the table stands, no empty plot
            click.echo(f"Warning: no CMD written: {exc}", err=True)
            plot_path = None
        else:
            save_figure(fig, plot_path, overwrite=overwrite, dpi=200)
    counts = {f: int(result[f"{f.lower()}_mag"].notna().sum()) for f in order}
    systems = {f: result.attrs["photometry"][f]["system"] for f in order}
    emit(
        f"{len(result)} candidates in {', '.join(order)} "
        f"({', '.join(f'{f}: {n} with {systems[f]} mag' for f, n in counts.items())}) -> {output}"
        + (f"; CMD -> {plot_path}" if plot_path else ""),
        {
            "n_candidates": len(result),
            "filters": order,
            "with_magnitude": counts,
            "output": str(output),
            "plot": plot_path,
            "photometry": result.attrs["photometry"],
        },
        as_json,
    )


def _of_filters(
    texts: tuple[str, ...], option: str, example: str, value: str, filters: set[str]
) -> dict[str, float]:
    """The FILTER=VALUE options of ``option``, each naming a filter of --image."""
    values = filter_values(texts, option, example)
    unknown = sorted(set(values) - filters)
    if unknown:
        raise click.BadParameter(
            f"no --image for {', '.join(unknown)}; give FILTER={value} for the filters of --image",
            param_hint=option,
        )
    return values
