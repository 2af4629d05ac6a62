"""``xrbid ds9``: work alongside a running SAOImage DS9 (over XPA or SAMP)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import click

from ._common import ANGLE, XrbidGroup, emit, json_option, overwrite_option

_PATH = click.Path(dir_okay=False, path_type=Path)
_EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)


class _Zoom(click.ParamType):
    """A positive finite zoom factor, or ``fit``; checked before DS9 is touched."""

    name = "ZOOM|fit"

    def convert(self, value, param, ctx):
        if isinstance(value, float) or value == "fit":
            return value
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number or 'fit'", param, ctx)
        if not (math.isfinite(number) and number > 0):
            self.fail(f"{value!r}: a zoom is a positive number (or 'fit')", param, ctx)
        return number


ZOOM = _Zoom()


@click.group(cls=XrbidGroup)
def ds9() -> None:
    """Drive a running SAOImage DS9: show images and regions, pick calibrators, blink, stamps.

    DS9 is found over XPA, then SAMP (--transport to choose); --start launches one.

    \b
    On the M101 example:
      xrbid ds9 show m101_f555w.fits --regions m101_2sig.reg --start
      xrbid ds9 calibrators m101_unique.ecsv --image m101_f555w.fits -o calibrators.ecsv
      xrbid ds9 blink m101_f555w.fits --before m101.reg --after m101_aligned.reg
      xrbid ds9 stamps m101_best.ecsv --image m101_f555w.fits -o stamps/
    """


def session_options(f: Callable) -> Callable:
    """``--target``, ``--transport``, ``--start``, ``--timeout``: which DS9 and how."""
    options = [
        click.option(
            "--target",
            default=None,
            help="DS9 title (ds9 -title NAME) when several DS9s run; with --start, the title.",
        ),
        click.option(
            "--transport",
            type=click.Choice(["auto", "xpa", "samp"]),
            default="auto",
            show_default=True,
            help="How to reach DS9: XPA (pyds9), SAMP (pyvo.samp), or XPA then SAMP.",
        ),
        click.option("--start", is_flag=True, help="Start ds9 if none answers."),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0.1),
            default=10.0,
            show_default=True,
            help="Seconds to wait for DS9 on each command.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _connect(target: str | None, transport: str, start: bool, timeout: float):
    from xrbid.ds9 import DS9

    return DS9(target, transport=transport, start=start, timeout=timeout)


@ds9.command("show")
@click.argument("image", type=_EXISTING)
@click.option(
    "--regions",
    "region_files",
    multiple=True,
    type=_EXISTING,
    help="Region file to draw over the image (repeat for several).",
)
@click.option(
    "--frame",
    type=click.Choice(["new", "current"]),
    default="new",
    show_default=True,
    help="Load into a new frame or replace the current one.",
)
@click.option(
    "--zoom",
    type=ZOOM,
    default="fit",
    show_default=True,
    help="Zoom: screen pixels per image pixel (a positive number), or fit.",
)
@session_options
@json_option
def show(
    image: Path,
    region_files: tuple[Path, ...],
    frame: str,
    zoom: str,
    target: str | None,
    transport: str,
    start: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Show IMAGE in DS9 with region files drawn over it.

    \b
    Example (the M101 2-sigma circles over your HST image of M101):
      xrbid ds9 show m101_f555w.fits --regions m101_2sig.reg --start
    """
    session = _connect(target, transport, start, timeout)
    try:
        number = session.open_image(image, frame=frame)
        for path in region_files:
            session.load_regions(path)
        session.zoom(zoom)
        drawn = len(session.regions()) if region_files else 0
        name = session.target.name
        used = session.transport
    finally:
        session.close()
    emit(
        f"DS9 {name!r} ({used}): {image.name} in frame {number}, {drawn} regions drawn",
        {"ds9": name, "transport": used, "frame": number, "image": str(image), "regions": drawn},
        as_json,
    )


_MARK_HELP = {
    "color": "select each calibrator to keep and give it the colour {color} (Region > Color)",
    "selected": "select the calibrators to keep (click, shift-click for more)",
    "delete": "delete the candidates you reject (select, then Region > Delete)",
}


@ds9.command("calibrators")
@click.argument("table_path", metavar="TABLE", type=_EXISTING)
@click.option("--image", type=_EXISTING, default=None, help="Image to show the candidates on.")
@click.option(
    "-o",
    "--output",
    type=_PATH,
    default=None,
    help="Table of the kept calibrators (source_id, ra, dec, ds9_ra, ds9_dec).",
)
@click.option(
    "--ids",
    multiple=True,
    help="Only these candidates (comma-separated or repeated); default all sources.",
)
@click.option(
    "--radius",
    type=ANGLE,
    default=2.0,
    show_default=True,
    help="Radius of the candidate circles (2arcsec, 0.1arcmin; a number is arcsec).",
)
@click.option("--zoom", type=float, default=4.0, show_default=True, help="Zoom on each candidate.")
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
    image: Path | None,
    output: Path | None,
    ids: tuple[str, ...],
    radius: float,
    zoom: float,
    mark: str,
    keep_color: str,
    no_step: bool,
    draw_only: bool,
    collect: bool,
    target: str | None,
    transport: str,
    start: bool,
    timeout: float,
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
          --ids "2CXO J140314.3+541806,2CXO J140229.9+542118" -o calibrators.ecsv
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
    table = unique_sources(read_table(table_path))
    wanted = [i.strip() for chunk in ids for i in chunk.split(",") if i.strip()]
    if wanted:
        table = select_sources(table, wanted)
    session = _connect(target, transport, start, timeout)
    try:
        if not collect:
            session.open_image(image)
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
    finally:
        session.close()
    from xrbid.tables import write_table

    write_table(kept, output, overwrite=overwrite)
    emit(
        f"{len(kept)} of {len(table)} calibrators kept -> {output}",
        {"kept": kept["source_id"].tolist(), "candidates": len(table), "output": str(output)},
        as_json,
    )


@ds9.command("blink")
@click.argument("image", type=_EXISTING)
@click.option("--before", type=_EXISTING, required=True, help="Regions before the correction.")
@click.option("--after", type=_EXISTING, required=True, help="Regions after the correction.")
@click.option("--interval", type=float, default=0.5, show_default=True, help="Seconds per frame.")
@session_options
@json_option
def blink(
    image: Path,
    before: Path,
    after: Path,
    interval: float,
    target: str | None,
    transport: str,
    start: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Blink IMAGE with the positions before and after an astrometric correction.

    Two frames show the same image, one with each region file, matched and locked on WCS
    (crosshair included): check that the correction brought the X-ray positions onto their
    optical counterparts.

    \b
    Example (M101):
      xrbid ds9 blink m101_f555w.fits --before m101.reg --after m101_aligned.reg
    """
    from xrbid.ds9 import blink_before_after

    session = _connect(target, transport, start, timeout)
    try:
        first, second = blink_before_after(session, image, before, after, interval=interval)
        name = session.target.name
    finally:
        session.close()
    emit(
        f"DS9 {name!r}: blinking frame {first} ({before.name}) and {second} ({after.name}) "
        f"every {interval:g} s",
        {"ds9": name, "before_frame": first, "after_frame": second, "interval": interval},
        as_json,
    )


@ds9.command("stamps")
@click.argument("table_path", metavar="TABLE", type=_EXISTING)
@click.option("--image", type=_EXISTING, required=True, help="Image to cut the stamps from.")
@click.option(
    "-o",
    "--output",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the PNGs (created if missing).",
)
@click.option("--size", type=ANGLE, default=10.0, show_default=True, help="Stamp width on the sky.")
@click.option(
    "--pixels",
    type=click.IntRange(50, 2000),
    default=300,
    show_default=True,
    help="Stamp width and height in screen pixels.",
)
@session_options
@overwrite_option
@json_option
def stamps(
    table_path: Path,
    image: Path,
    out_dir: Path,
    size: float,
    pixels: int,
    target: str | None,
    transport: str,
    start: bool,
    timeout: float,
    overwrite: bool,
    as_json: bool,
) -> None:
    """A PNG postage stamp per source of TABLE with its 1-sigma and 2-sigma circles.

    DS9 renders each stamp: the image around the source, the 1-sigma circle (green, solid) and
    the 2-sigma circle (magenta, dashed, labelled). TABLE needs pu_1sigma and pu_2sigma.

    \b
    Example (M101):
      xrbid ds9 stamps m101_best.ecsv --image m101_f555w.fits -o stamps/ --size 8arcsec
    """
    from xrbid.ds9 import postage_stamps
    from xrbid.tables import read_table

    table = read_table(table_path)
    session = _connect(target, transport, start, timeout)
    try:
        paths = postage_stamps(
            session, table, image, out_dir, size=size, pixels=pixels, overwrite=overwrite
        )
    finally:
        session.close()
    emit(
        f"{len(paths)} stamps -> {out_dir}",
        {"stamps": [str(p) for p in paths], "output": str(out_dir)},
        as_json,
    )
