"""``xrbid calib``: standard calibration steps (WCS fit to a reference catalogue, photometry)."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import XrbidGroup, check_outputs, emit
from ._options import (
    ANGLE,
    EXISTING_FILE,
    FILE,
    cache_options,
    json_option,
    output_option,
    overwrite_option,
    plot_option,
)
from ._phot_common import LENGTH, LENGTH_HELP


@click.group(cls=XrbidGroup)
def calib() -> None:
    """Calibrate HST images: astrometry (WCS) and photometry (zero points, colour terms)."""


@calib.command("wcs")
@click.argument("image", type=EXISTING_FILE)
@click.option(
    "--ref",
    "ref",
    required=True,
    metavar="gaia|TABLE",
    help="Reference catalogue: 'gaia' (Gaia DR3 around the image, moved to its date) or a "
    "table file with ra, dec in degrees.",
)
@output_option("The corrected copy of IMAGE (FITS).")
@click.option(
    "--fit",
    type=click.Choice(["shift", "rscale", "linear", "sip"]),
    default="rscale",
    show_default=True,
    help="Geometry: translation; rotation+scale; full linear; linear + SIP polynomial.",
)
@click.option(
    "--sip-degree", type=int, default=3, show_default=True, help="SIP degree (--fit sip)."
)
@click.option("--ext", help="Image extension (index, NAME or NAME,VER); default: first SCI.")
@click.option(
    "--fwhm",
    type=LENGTH,
    default="2.5pix",
    show_default=True,
    help=f"Star FWHM, as for phot detect: {LENGTH_HELP}.",
)
@click.option(
    "--threshold", type=float, default=5.0, show_default=True, help="Detection threshold, sigma."
)
@click.option(
    "--search-radius",
    type=ANGLE,
    default="5arcsec",
    show_default=True,
    help="Largest WCS error to look for.",
)
@click.option(
    "--match-radius",
    type=ANGLE,
    default="0.5arcsec",
    show_default=True,
    help="Largest star-catalogue distance after the coarse offset.",
)
@click.option("--clip-sigma", type=float, default=3.0, show_default=True, help="Clipping level.")
@click.option(
    "--epoch",
    help="Date the Gaia positions are moved to (default: the image's DATE-OBS), e.g. 1999-08-18.",
)
@plot_option()
@click.option(
    "--matches",
    type=FILE,
    help="Write the matched stars and their residuals (table; format by extension).",
)
@cache_options(
    "Archive cache folder (default $XRBID_CACHE_DIR or ~/.cache/xrbid).",
    "Gaia from the cache only ($XRBID_OFFLINE=1).",
)
@overwrite_option
@json_option
def wcs(
    image: Path,
    ref: str,
    output: Path,
    fit: str,
    sip_degree: int,
    ext: str | None,
    fwhm: object,
    threshold: float,
    search_radius: float,
    match_radius: float,
    clip_sigma: float,
    epoch: str | None,
    plot: Path | None,
    matches: Path | None,
    cache_dir: Path | None,
    offline: bool,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Fit the WCS of IMAGE to a reference catalogue; write a corrected copy.

    The stars of IMAGE are detected, matched to the catalogue and the chosen geometry is
    fitted with sigma clipping. IMAGE is not modified; the copy keeps the old WCS as an
    alternate WCS (letter O, or the next free one).

    \b
    Example (the Abell 478 WFPC2 image shipped with the tests):
      xrbid calib wcs a478hst-cutout.fits --ref gaia -o a478_wcs.fits --plot a478_wcs.png
      xrbid calib wcs a478hst-cutout.fits --ref stars.ecsv --fit shift -o a478_wcs.fits
    """
    from xrbid.calibration.astrometry import calibrate_wcs, plot_residuals
    from xrbid.errors import InputError
    from xrbid.tables import check_table_output, write_table

    check_outputs(overwrite, output, figures=[plot])
    if matches is not None:
        check_table_output(matches, overwrite)
    if path_is_same(image, output):
        raise InputError(f"{output} is the input image; write the corrected copy to a new file")
    if ref.lower() == "gaia":
        from xrbid.archives import query_gaia
        from xrbid.photometry import load_image

        img = load_image(image, ext=ext)
        ra0, dec0, radius = img.footprint()
        date = str(img.header.get("DATE-OBS", "")).strip()
        when = epoch or date or None
        reference = query_gaia(
            (ra0, dec0),
            radius + search_radius,
            epoch=when,
            cache=cache_dir,
            offline=offline or None,
        )
        ref_name = f"Gaia DR3 at {when or 'J2016.0'}"
    else:
        from xrbid.tables import read_table

        ref_path = Path(ref)
        if not ref_path.exists():
            raise InputError(f"--ref {ref}: no such file; give a table file or 'gaia'")
        reference = read_table(ref_path)
        ref_name = str(ref_path)
    result = calibrate_wcs(
        image,
        reference,
        output,
        ext=ext,
        fit=fit,
        fwhm=fwhm,
        threshold_sigma=threshold,
        search_radius=search_radius,
        match_radius=match_radius,
        clip_sigma=clip_sigma,
        sip_degree=sip_degree,
        overwrite=overwrite,
    )
    if plot is not None:
        plot_residuals(result, plot, overwrite=overwrite)
    if matches is not None:
        write_table(result.matches, matches, overwrite=overwrite)
    data = {"image": str(image), "output": str(output), "reference": ref_name, **result.to_dict()}
    notes = "" if not result.notes else " (" + "; ".join(result.notes) + ")"
    emit(
        f"{image}: {result.fit} fit to {result.n_used} of {result.n_matched} matched stars "
        f"({ref_name}), rms {result.rms_arcsec * 1000:.1f} mas -> {output}{notes}",
        data,
        as_json,
    )


def path_is_same(a: Path, b: Path) -> bool:
    """Whether two paths name the same file (the second may not exist yet)."""
    return a.resolve() == b.resolve()


from .calib_phot import phot as _phot  # noqa: E402

calib.add_command(_phot)
