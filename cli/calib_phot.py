"""``xrbid calib phot``: photometric calibration against a reference catalogue (term language)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ._common import XrbidCommand, check_outputs, emit
from ._options import (
    FILE,
    json_option,
    max_sep_option,
    output_option,
    overwrite_option,
    plot_option,
)


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (value or "").split(",") if p.strip())


@click.command("phot", cls=XrbidCommand)
@click.argument("phot_path", metavar="PHOT", type=FILE)
@click.option(
    "--ref",
    "ref_path",
    type=FILE,
    help="Reference catalogue of standard magnitudes, matched to PHOT by position (ra, dec). "
    "Leave out when PHOT already has the catalogue columns.",
)
@click.option(
    "--ref-mag",
    default=None,
    help="Catalogue column of the standard magnitude in the filter being calibrated (e.g. V). "
    "Default: the catalogue column named after the photometry's filter (--filter, or the "
    "table's filter column; an HST filter maps to its standard band, F555W -> V), or the "
    "catalogue's only magnitude column.",
)
@click.option(
    "--filter",
    "filter_name",
    default=None,
    metavar="NAME",
    help="Filter of the photometry (e.g. F555W or V), used to choose --ref-mag.",
)
@click.option(
    "--filters",
    default="",
    metavar="F1,F2,...",
    help="Catalogue magnitude columns defining the colours, bluest first: C = F2 - F1, "
    "D = F3 - F2, ... (e.g. B,V,R gives C = V - B, D = R - V; see --colour-convention). "
    "Default when colour terms are used: all the catalogue's magnitude columns of known "
    "bands, ordered by wavelength.",
)
@click.option(
    "--colour-convention",
    type=click.Choice(["dophot3", "index"]),
    default="dophot3",
    show_default=True,
    help="dophot3: C = 2nd filter - 1st (the term document's); index: C = 1st - 2nd (B - V).",
)
@click.option(
    "-U",
    "--terms",
    default="",
    show_default=True,
    help="Terms beyond the zero point, e.g. '@.p2,&PC,#PA=0.12': @ stepwise, & always, "
    "# fixed (=value), * per image; PX PY PXY P2X ... (position), PR P2R (radius), "
    "PC PD (colours), PA PB (airmass), PAC, PN; SX SY SXY (sub-pixel), XC SC (universal "
    "colour), RS RO RC (non-linearity); macros .p1-.p4 .r1-.r3 .c1-.c3 .d1-.d3 .l .s.",
)
@click.option(
    "-y",
    "--per-image-pointing",
    is_flag=True,
    help="Add &*.p (= &*PX,&*PY): an x and a y gradient fitted for each image.",
)
@click.option(
    "--use-stepwise/--no-use-stepwise",
    default=True,
    show_default=True,
    help="Mode of terms written without @, & or #: stepwise, or always fitted.",
)
@click.option(
    "--zeropoint",
    type=click.Choice(["global", "per-image"]),
    default="global",
    show_default=True,
    help="One zero point for all images, or one per image.",
)
@click.option(
    "--alpha",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.001,
    show_default=True,
    help="Significance level of the stepwise F-tests.",
)
@click.option(
    "--clip",
    type=click.FloatRange(0, min_open=True),
    default=3.0,
    show_default=True,
    help="Clip stars beyond this many robust standard deviations.",
)
@click.option(
    "--error-floor",
    type=click.FloatRange(0),
    default=0.0,
    show_default=True,
    help="Magnitude error added in quadrature to every star's error.",
)
@max_sep_option("1arcsec", "Largest star-catalogue separation of a match (with --ref).")
@click.option("--mag-column", default="mag", show_default=True, help="Instrumental magnitude.")
@click.option(
    "--err-column",
    default="mag_err",
    show_default=True,
    help="Instrumental magnitude error; 'none' for equal weights.",
)
@click.option("--ref-err-column", default=None, help="Catalogue magnitude error (optional).")
@click.option("--x-column", default="x", show_default=True, help="x pixel position.")
@click.option("--y-column", default="y", show_default=True, help="y pixel position.")
@click.option("--image-column", default="image", show_default=True, help="Image identifier.")
@click.option("--airmass-column", default="airmass", show_default=True, help="Airmass.")
@output_option("Calibrated table: PHOT with mag_cal, mag_cal_err, calib_residual, calib_used.")
@plot_option("Residual plot (vs magnitude, colour, x, y), e.g. residuals.png.")
@click.option(
    "--report",
    type=FILE,
    help="Fit report as JSON: every term with coefficient, error, kept/dropped, F and p.",
)
@overwrite_option
@json_option
def phot(
    phot_path: Path,
    ref_path: Path | None,
    ref_mag: str | None,
    filter_name: str | None,
    filters: str,
    colour_convention: str,
    terms: str,
    per_image_pointing: bool,
    use_stepwise: bool,
    zeropoint: str,
    alpha: float,
    clip: float,
    error_floor: float,
    max_sep: float,
    mag_column: str,
    err_column: str,
    ref_err_column: str | None,
    x_column: str,
    y_column: str,
    image_column: str,
    airmass_column: str,
    output: Path,
    plot: Path | None,
    report: Path | None,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Calibrate instrumental magnitudes against a catalogue of standard magnitudes.

    Fits m_instr - m_std = ZP + the terms of -U (position, radius, colour, airmass) by
    weighted least squares with sigma clipping; stepwise terms (@) are kept only when a
    partial F-test is significant at --alpha. Writes PHOT with calibrated magnitudes.

    \b
    Example (M101 walkthrough: F555W Vega magnitudes from `xrbid phot measure` onto
    Johnson V of a standard-star catalogue; ground-based data would add e.g. #PA=0.12):
      xrbid calib phot f555w_phot.ecsv --ref standards.ecsv --ref-mag V --filters B,V \\
          --mag-column mag_vega -U '&PC,@.p2' -o f555w_cal.ecsv \\
          --plot f555w_residuals.png --report f555w_fit.json
    """
    from xrbid._io import write_text_atomic
    from xrbid.calibration.photometric import (
        calibrate_photometry,
        check_plot_path,
        plot_residuals,
    )
    from xrbid.calibration.terms import parse_terms
    from xrbid.tables import check_table_output, read_table, write_table

    check_table_output(output, overwrite)
    check_outputs(overwrite, plot, report)
    if plot is not None:
        check_plot_path(plot)
    filter_list = _split(filters)
    # parse first: a typo in -U is reported before any file is read
    plan = parse_terms(
        terms,
        default="stepwise" if use_stepwise else "always",
        per_image_pointing=per_image_pointing,
    )
    stars = read_table(phot_path)
    out, solution, notes = calibrate_photometry(
        stars,
        read_table(ref_path) if ref_path is not None else None,
        plan,
        ref_mag=ref_mag,
        filter_name=filter_name,
        filters=filter_list,
        ref_mag_err=ref_err_column,
        max_sep=max_sep,
        mag=mag_column,
        mag_err=None if err_column.lower() == "none" else err_column,
        x=x_column,
        y=y_column,
        image=image_column,
        airmass=airmass_column,
        zeropoint=zeropoint,
        alpha=alpha,
        clip=clip,
        error_floor=error_floor,
        colour_convention=colour_convention,
    )

    data = solution.to_dict()
    # all or nothing: the command's outputs are committed together (XrbidCommand)
    write_table(out, output, overwrite=overwrite)
    if plot is not None:
        plot_residuals(solution, out, plot, overwrite=overwrite)
    if report is not None:
        write_text_atomic(report, json.dumps(data, indent=2) + "\n", overwrite=overwrite)

    zp = [r for r in solution.coefficients if r.term == "ZP"]
    zp_text = (
        f"ZP {zp[0].coefficient:.4f} +- {zp[0].error:.4f}"
        if len(zp) == 1
        else f"{len(zp)} per-image zero points"
    )
    fixed = [f"{t.name}={t.value:g}" for t in solution.plan.by_mode("fixed")]
    kept, dropped = _term_names(solution, ("always", "kept")), _term_names(solution, ("dropped",))
    parts = [
        zp_text,
        f"terms {','.join(kept) or 'none'}",
        *([f"dropped {','.join(dropped)}"] if dropped else []),
        *([f"fixed {','.join(fixed)}"] if fixed else []),
        f"{solution.n_used} stars used, {solution.n_clipped} clipped",
        f"rms {solution.rms:.4f} mag",
    ]
    parts += notes
    summary = f"calibrated {out['mag_cal'].notna().sum()} rows: " + "; ".join(parts)
    for note in solution.plan.notes:  # how conflicting requests for one term were resolved
        click.echo(f"Note: {note}", err=True)
    emit(f"{summary} -> {output}", {**data, "output": str(output)}, as_json)


def _term_names(solution, statuses: tuple[str, ...]) -> list[str]:
    """Names of the terms with one of ``statuses``, per-image terms written ``*PX`` as in -U.

    A per-image term has one coefficient per image (``PX:j01``, ``PX:j02``); the summary names
    it once, with the ``*`` that tells it from a global term of the same name.
    """
    names: list[str] = []
    for row in solution.coefficients:
        if row.status in statuses:
            name = f"*{row.term}" if row.image is not None else row.term
            if name not in names:
                names.append(name)
    return names
