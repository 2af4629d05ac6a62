"""What the ``xrbid ds9`` commands share: which DS9 and how, the display stretch, IMAGE checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._options import option_group

if TYPE_CHECKING:
    from xrbid.photometry.image_spec import ImageSpec


@dataclass(frozen=True)
class Session:
    """Which DS9 to reach and how (``--target``, ``--transport``, ``--start``, ``--timeout``)."""

    target: str | None
    transport: str
    start: bool
    timeout: float

    def connect(self):
        """The DS9 session (a context manager that closes it)."""
        from xrbid.ds9 import DS9

        return DS9(self.target, transport=self.transport, start=self.start, timeout=self.timeout)


session_options = option_group(
    [
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
            help="How to reach DS9: XPA (the XPA library of pyds9), SAMP (pyvo.samp), or XPA "
            "then SAMP.",
        ),
        click.option("--start", is_flag=True, help="Start ds9 if none answers."),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0.1),
            default=10.0,
            show_default=True,
            help="Seconds to wait for DS9: for finding it, and for each command.",
        ),
    ],
    "ds9_session",
    Session,
)
"""``--target``, ``--transport``, ``--start``, ``--timeout``: the command gets a `Session`."""


@dataclass(frozen=True)
class Display:
    """How pixel values map to grey levels (``--scale``, ``--limits``)."""

    scale: str
    limits: tuple[float, float] | None

    def check(self) -> None:
        """Refuse a bad stretch before DS9 is touched."""
        from xrbid.ds9._checks import check_stretch

        check_stretch(self.scale, self.limits)


def check_image_arg(image: Path | ImageSpec | None) -> None:
    """Refuse a missing extension (or one DS9 cannot show) before DS9 is touched."""
    if image is not None:
        from xrbid.ds9._images import check_image

        check_image(image)


def display_options(f: Callable) -> Callable:
    """``--scale`` and ``--limits``: the command gets a `Display`."""
    from xrbid.ds9 import SCALES

    options = [
        click.option(
            "--scale",
            type=click.Choice(SCALES),
            default="log",
            show_default=True,
            help="Display stretch: a function over the 99.5% clip of the pixel values, or zscale.",
        ),
        click.option(
            "--limits",
            type=(float, float),
            default=None,
            metavar="LOW HIGH",
            help="Pixel values shown black and white, in the image's units (e.g. electrons/s); "
            "default: the 99.5% clip (zscale: its own).",
        ),
    ]
    return option_group(options, "display", Display)(f)
