"""Entry point of the ``xrbid`` command: the top-level group and lazy loading of sub-commands."""

from __future__ import annotations

import importlib
import importlib.util

import click

from xrbid._version import __version__

from ._common import XrbidGroup

# name -> (module, attribute). Sub-command modules are imported only when used, so that
# `xrbid --help` is fast and, e.g., `xrbid csc` never imports the DS9 or photometry stacks.
COMMANDS: dict[str, tuple[str, str]] = {
    "csc": ("xrbid.cli.csc", "csc"),
    "regions": ("xrbid.cli.regions", "regions"),
    "ds9": ("xrbid.cli.ds9", "ds9"),
    "align": ("xrbid.cli.align", "align"),
    "pu": ("xrbid.cli.pu", "pu"),
    "best": ("xrbid.cli.best", "best"),
    "counterparts": ("xrbid.cli.counterparts", "counterparts"),
    "phot": ("xrbid.cli.phot", "phot"),
    "calib": ("xrbid.cli.calib", "calib"),
}


class LazyGroup(XrbidGroup):
    """A group whose sub-commands live in their own modules and load on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = [n for n, (mod, _) in COMMANDS.items() if importlib.util.find_spec(mod)]
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module_name, attr = COMMANDS[cmd_name]
        module = importlib.import_module(module_name)
        return getattr(module, attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xrbid")
def cli() -> None:
    """Find the optical counterparts of X-ray binaries.

    Load Chandra Source Catalog tables, write DS9 region files, align X-ray positions to the
    optical frame, compute 1-sigma/2-sigma positional uncertainties, pick the best observation
    per source, and measure the optical counterparts on HST images.

    \b
    A day on M101:
      xrbid csc load cscresults_M101.vot -o m101.ecsv
      xrbid csc unique m101.ecsv -o m101_unique.ecsv
      xrbid regions write m101_unique.ecsv -o m101.reg --radius 10arcsec --label-column source_id
    """


def main() -> None:
    """Run the command line (console-script entry point)."""
    cli(prog_name="xrbid")


if __name__ == "__main__":  # pragma: no cover
    main()
