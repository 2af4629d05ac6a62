"""Entry point of the ``xrbid`` command: the top-level group and lazy loading of sub-commands."""

from __future__ import annotations

import atexit
import importlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

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
    "figures": ("xrbid.cli.figures", "figures"),
    "tables": ("xrbid.cli.tables", "tables"),
    "run": ("xrbid.cli.run", "run"),
    "classify": ("xrbid.cli.classify", "classify"),
    "models": ("xrbid.cli.models", "models"),
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


def _can_write_below(folder: Path) -> bool:
    """Whether ``folder`` exists and can be written, or could be created."""
    while not folder.exists():
        if folder.parent == folder:
            return False
        folder = folder.parent
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def astropy_dirs_writable(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Give astropy a private temporary config/cache folder when its own cannot be written.

    astropy keeps its configuration and download cache under the home folder
    (``~/.config/astropy``, ``~/.cache/astropy``, or the older ``~/.astropy``); a read-only or
    unwritable home must not stop a command that reads and writes only the user's files. Where
    that folder cannot be written (and ``ASTROPY_CONFIG_DIR``/``ASTROPY_CACHE_DIR`` are not set),
    the variable is pointed at a new temporary folder, removed when the process ends.

    Returns the variables set.
    """
    environ = os.environ if environ is None else environ
    home = Path(environ.get("HOME") or Path.home())
    chosen: dict[str, str] = {}
    for kind in ("config", "cache"):
        var = f"ASTROPY_{kind.upper()}_DIR"
        if environ.get(var):
            continue
        xdg = environ.get(f"XDG_{kind.upper()}_HOME")
        legacy = home / ".astropy" / kind
        default = Path(xdg) / "astropy" if xdg else home / f".{kind}" / "astropy"
        used = legacy if legacy.is_dir() and not default.exists() else default
        if _can_write_below(used):
            continue
        folder = tempfile.mkdtemp(prefix=f"xrbid-astropy-{kind}-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        environ[var] = chosen[var] = folder
    return chosen


def main() -> None:
    """Run the command line (console-script entry point)."""
    astropy_dirs_writable()
    cli(prog_name="xrbid")


if __name__ == "__main__":  # pragma: no cover
    main()
