"""``xrbid ds9 calibrators``: pick astrometric calibrators by eye in DS9."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._common import IMAGE_FILE, XrbidCommand, emit
from ._ds9_common import Display, Session, check_image_arg, display_options, session_options
from ._options import (
    ANGLE,
    EXISTING_FILE,
    FILE,
    id_options,
    json_option,
    overwrite_option,
    source_ids,
)

if TYPE_CHECKING:
    from xrbid.photometry.image_spec import ImageSpec

_MARK_HELP = {
    "color": "select each calibrator to keep and give it the colour {color} (Region > Color)",
    "selected": "select the calibrators to keep (click, shift-click for more)",
    "delete": "delete the candidates you reject (select, then Region > Delete)",
}


@click.command("calibrators", cls=XrbidCommand)
@click.argument("table_path", metavar="TABLE", type=EXISTING_FILE)
@click.option(
    "--image",
    type=IMAGE_FILE,
    default=None,
    help="Image to show the candidates on (IMAGE[ext]: one extension).",
)
@click.option(
    "-o",
    "--output",
    type=FILE,
    default=None,
    help="Table of the kept calibrators (source_id, ra, dec, ds9_ra, ds9_dec).",
)
@id_options
@click.option(
    "--radius",
    type=ANGLE,
    default="2arcsec",
    show_default=True,
    help="Radius of the candidate circles: an angle (2arcsec, 0.1arcmin; a number is arcsec).",
)
@click.option(
    "--zoom",
    type=click.FloatRange(min=0, min_open=True, max=1e4),
    default=4.0,
    show_default=True,
    help="Zoom on each candidate: screen pixels per image pixel.",
)
@click.option(
    "--mark",
    type=click.Choice(["color", "selected", "delete"]),
    default="color",
    show_default=True,
    help="How you mark the ones to keep: recolour them, select them, or delete the others.",
)
@click.option(
    "--keep-color", default="red", show_default=True, help="Colour meaning keep (--mark color)."
)
@display_options
@click.option("--no-step", is_flag=True, help="Do not step through the candidates one by one.")
@click.option(
    "--draw-only", is_flag=True, help="Draw (and step), then exit; collect later with --collect."
)
@click.option(
    "--collect",
    is_flag=True,
    help="Do not draw: read back the marks on candidates drawn by an earlier run.",
)
@session_options
@overwrite_option
@json_option
def calibrators(
    table_path: Path,
    image: Path | ImageSpec | None,
    output: Path | None,
    ids: tuple[str, ...],
    ids_file: Path | None,
    radius: float,
    zoom: float,
    mark: str,
    keep_color: str,
    display: Display,
    no_step: bool,
    draw_only: bool,
    collect: bool,
    ds9_session: Session,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Pick astrometric calibrators by eye in DS9 and write the ones you kept.

    Draws each candidate of TABLE (one per source) on IMAGE, steps through them (pan, zoom,
    crosshair; Enter for the next), then reads back from DS9 the ones you marked and writes
    them to --output. Nothing is copied by hand.

    \b
    Example (M101):
      xrbid ds9 calibrators m101_unique.ecsv --image m101_f555w.fits \\
          --id "2CXO J140314.3+541806" --id "2CXO J140229.9+542118" -o calibrators.ecsv
    \b
    Draw now, mark at leisure, collect later:
      xrbid ds9 calibrators m101_unique.ecsv --image m101_f555w.fits --draw-only
      xrbid ds9 calibrators m101_unique.ecsv --collect -o calibrators.ecsv
    """
    from xrbid.ds9 import draw_calibrators, picked_calibrators, step_through
    from xrbid.tables import check_table_output, read_table, select_sources, unique_sources

    if draw_only and collect:
        raise click.UsageError("--draw-only and --collect exclude each other")
    if not draw_only and output is None:
        raise click.UsageError("give -o/--output for the kept calibrators (or use --draw-only)")
    if not collect and image is None:
        raise click.UsageError("give --image to draw the candidates on (or use --collect)")
    if output is not None:
        check_table_output(output, overwrite)
    display.check()
    check_image_arg(image)
    wanted = source_ids(ids, ids_file, required=False)
    table = unique_sources(read_table(table_path))
    if wanted:
        table = select_sources(table, wanted)
    with ds9_session.connect() as session:
        if not collect:
            session.open_image(image)
            session.stretch(display.scale, display.limits)
            drawn = draw_calibrators(session, table, radius=radius)
            off_image = len(table) - len(drawn)
            if off_image:
                click.echo(f"{off_image} candidates fall off the image and are not drawn", err=True)
            table = drawn
            if not no_step:
                for i, row in step_through(session, table, zoom=zoom):
                    answer = click.prompt(
                        f"[{i + 1}/{len(table)}] {row['source_id']}: Enter for the next, "
                        "q to stop stepping",
                        default="",
                        show_default=False,
                        err=True,
                    )
                    if answer.strip().lower() == "q":
                        break
            else:
                session.zoom("fit")
            if draw_only:
                emit(
                    f"{len(table)} candidates drawn in DS9 {session.target.name!r}; mark them, "
                    "then run again with --collect",
                    {"candidates": len(table), "ds9": session.target.name},
                    as_json,
                )
                return
            how = _MARK_HELP[mark].format(color=keep_color)
            click.prompt(
                f"In DS9, {how}; then press Enter here",
                default="",
                show_default=False,
                err=True,
            )
        kept = picked_calibrators(session, table, mark=mark, keep_color=keep_color)
    from xrbid.errors import InputError
    from xrbid.tables import write_table

    if len(kept) == 0:
        how = _MARK_HELP[mark].format(color=keep_color)
        raise InputError(
            f"none of the {len(table)} candidates is marked as kept in DS9 (--mark {mark}: "
            f"{how}); nothing written to {output}; mark them and run again with --collect"
        )

    write_table(kept, output, overwrite=overwrite)
    emit(
        f"{len(kept)} of {len(table)} calibrators kept -> {output}",
        {"kept": kept["source_id"].tolist(), "candidates": len(table), "output": str(output)},
        as_json,
    )
