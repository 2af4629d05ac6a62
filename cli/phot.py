"""``xrbid phot``: detection, aperture photometry and counterpart magnitudes on HST images.

``detect`` and ``measure`` are here; ``counterparts`` in ``phot_counterparts``.
"""

from __future__ import annotations

from typing import Any

import click

from ._common import XrbidGroup, check_outputs, emit
from ._options import json_option, option_group, output_option, overwrite_option
from ._phot_common import (
    DEFAULT_FWHM,
    LENGTH,
    LENGTH_HELP,
    OUT,
    apcorr_fwhm_option,
    apcorr_option,
    check_default_fwhm,
    load_image_arg,
    parse_apcorr,
    progress,
    radius_option,
)

_image_options = option_group(
    [
        click.option("--ext", help="FITS extension: 1, SCI or SCI,2 (default: first SCI)."),
        click.option("--chip", type=int, help="Group of a WFPC2 GEIS waiver file (c0f), 1-4."),
        click.option("--exptime", type=float, help="Exposure time (s) overriding EXPTIME."),
        click.option(
            "--mask",
            type=click.Path(dir_okay=False),
            help="Pixels to ignore: a FITS image (non-zero = masked) or a DS9 region file "
            "(inside = masked). Pixels outside a drizzled footprint are always masked.",
        ),
    ],
    "image_options",
    dict,
)
"""``--ext``, ``--chip``, ``--exptime``, ``--mask``: how IMAGE is loaded (keywords of
`load_image_arg`)."""


@click.group(cls=XrbidGroup)
def phot() -> None:
    """Optical photometry on HST images: detect, measure, counterparts.

    \b
    On M101 (ACS/WFC F555W and F814W drizzled images):
      xrbid phot detect f555w_drc.fits -o f555w_sources.ecsv --fwhm 0.1arcsec \\
          --regions f555w_sources.reg
      xrbid phot measure f555w_drc.fits --positions f555w_sources.ecsv -o f555w_phot.ecsv
      xrbid phot counterparts m101_candidates.ecsv --image F555W=f555w_drc.fits \\
          --image F814W=f814w_drc.fits -o m101_cand_phot.ecsv --plot m101_cmd.png
    """


@phot.command("detect")
@click.argument("image")
@output_option("Source table (.ecsv, .csv, .fits, ...).", type=OUT)
@click.option(
    "--fwhm", type=LENGTH, default=DEFAULT_FWHM, show_default=True, help=f"PSF FWHM: {LENGTH_HELP}."
)
@click.option(
    "--threshold",
    "threshold_sigma",
    type=float,
    default=3.0,
    show_default=True,
    help="Detection threshold in units of the background RMS.",
)
@click.option("--finder", type=click.Choice(["dao", "iraf"]), default="dao", show_default=True)
@click.option("--sharpness", nargs=2, type=float, help="Sharpness range LO HI.")
@click.option("--roundness", nargs=2, type=float, help="Roundness range LO HI.")
@click.option(
    "--regions",
    "regions_path",
    type=OUT,
    help="Also write a DS9 region file of the sources.",
)
@_image_options
@overwrite_option
@json_option
def detect(
    image,
    output,
    fwhm,
    threshold_sigma,
    finder,
    sharpness,
    roundness,
    regions_path,
    image_options,
    overwrite,
    as_json,
) -> None:
    """Detect point sources on IMAGE (background subtracted first) and write their table.

    Pixel columns x, y are 0-based (photutils); ra, dec come from the image WCS.

    \b
    Example (M101 walkthrough):
      xrbid phot detect f555w_drc.fits -o f555w_sources.ecsv --fwhm 0.1arcsec \\
          --regions f555w_sources.reg
    """
    from xrbid.photometry import detect_sources
    from xrbid.photometry.detection import write_detection_regions
    from xrbid.tables import write_table

    check_outputs(overwrite, output, regions_path or None)
    img = load_image_arg(image, **image_options)
    check_default_fwhm([img])
    ny, nx = img.shape
    with progress(nx * ny, "detecting", nx * ny > 2048 * 2048 and not as_json) as update:
        sources = detect_sources(
            img,
            fwhm=fwhm,
            threshold_sigma=threshold_sigma,
            finder=finder,
            sharpness_range=sharpness or None,
            roundness_range=roundness or None,
            progress=update,
        )
    write_table(sources, output, overwrite=overwrite)
    if regions_path:
        write_detection_regions(sources, img, regions_path, overwrite=overwrite)
    emit(
        f"{len(sources)} sources on {img.label} ({img.filter or 'filter?'}) -> {output}",
        {
            "n_sources": len(sources),
            "output": str(output),
            "regions": regions_path,
            **sources.attrs,
        },
        as_json,
    )


@phot.command("measure")
@click.argument("image")
@click.option(
    "--positions",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Table with x, y (0-based pixels) or ra, dec columns (e.g. from detect).",
)
@output_option(type=OUT)
@radius_option
@click.option(
    "--large-radius",
    type=LENGTH,
    help="Large aperture of the empirical correction (default 0.4arcsec).",
)
@click.option(
    "--annulus",
    nargs=2,
    type=LENGTH,
    help="Background annulus R_IN R_OUT (default: large radius + 3 and + 8 pixels).",
)
@click.option("--extended", type=LENGTH, help="Also measure an extended-source aperture.")
@apcorr_option("auto (measure on stars of the image), none, or a value in mag.")
@click.option(
    "--eef", "eef_value", type=float, help="EEF at the large radius (overrides the shipped table)."
)
@click.option("--zeropoint", type=float, help="Explicit zero point (adds a 'mag' column).")
@apcorr_fwhm_option
@click.option("--saturation", type=float, help="Saturation level in data units.")
@click.option(
    "--pixels",
    "use_pixels",
    is_flag=True,
    help="Place apertures at the x, y columns (0-based pixels of this image), not at ra, dec.",
)
@_image_options
@overwrite_option
@json_option
def measure(
    image,
    positions,
    output,
    radius,
    large_radius,
    annulus,
    extended,
    apcorr,
    eef_value,
    zeropoint,
    fwhm,
    saturation,
    use_pixels,
    image_options,
    overwrite,
    as_json,
) -> None:
    """Aperture photometry of POSITIONS on IMAGE: fluxes, Vega/AB/ST magnitudes, flags.

    \b
    Example (M101 walkthrough):
      xrbid phot measure f555w_drc.fits --positions f555w_sources.ecsv \\
          -o f555w_phot.ecsv --radius 3pix --apcorr auto
    """
    from xrbid._io import check_output
    from xrbid.photometry import length_in_pixels, measure_magnitudes
    from xrbid.photometry.magnitudes import use_sky_positions
    from xrbid.tables import read_table, write_table

    check_output(output, overwrite)
    img = load_image_arg(image, **image_options, saturation=saturation)
    apcorr_value = parse_apcorr(apcorr)
    if apcorr_value == "auto":  # the FWHM only serves to find aperture-correction stars
        check_default_fwhm([img])
    table = read_table(positions)
    use_sky = use_sky_positions(img, table, pixels=use_pixels)
    ann = None
    if annulus:
        ann = (
            length_in_pixels(annulus[0], img, "annulus"),
            length_in_pixels(annulus[1], img, "annulus"),
        )
    extra: dict[str, Any] = {}
    if extended is not None:
        extra["extended_radius"] = length_in_pixels(extended, img, "extended radius")
    with progress(len(table), "measuring", len(table) > 10000 and not as_json) as update:
        result = measure_magnitudes(
            img,
            table,
            radius=radius,
            large_radius=large_radius,
            annulus=ann,
            apcorr=apcorr_value,
            eef_value=eef_value,
            zeropoint=zeropoint,
            fwhm=fwhm,
            use_sky=use_sky,
            progress=update,
            **extra,
        )
    write_table(result, output, overwrite=overwrite)
    apc = result.attrs["apcorr"]
    n_good = int(result["mag_ab"].notna().sum())
    emit(
        f"{len(result)} positions on {img.label}: {n_good} with magnitudes, aperture "
        f"correction {apc['value']:+.3f} mag ({apc['mode']}) -> {output}",
        {
            "n_positions": len(result),
            "n_magnitudes": n_good,
            "output": str(output),
            **{
                k: result.attrs[k]
                for k in (
                    "zeropoints",
                    "apcorr",
                    "radius_pix",
                    "large_radius_pix",
                    "annulus_pix",
                    "filter",
                )
            },
        },
        as_json,
    )


from .phot_counterparts import counterparts as _counterparts  # noqa: E402

phot.add_command(_counterparts)

__all__ = ["phot"]
