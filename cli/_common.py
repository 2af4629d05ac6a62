"""Shared pieces of the command line: error handling, output options, quantity parsing."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click

from xrbid.errors import XrbidError

__all__ = [
    "ANGLE",
    "AngleParam",
    "UserError",
    "XrbidGroup",
    "emit",
    "headers_option",
    "json_option",
    "overwrite_option",
]


class UserError(click.ClickException):
    """A user error: printed as one line, exit code 1, no traceback."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True)


def _as_user_error(exc: BaseException) -> UserError | None:
    if isinstance(exc, XrbidError):
        return UserError(str(exc))
    if isinstance(exc, FileNotFoundError):
        return UserError(f"{exc.filename}: no such file; check the path")
    if isinstance(exc, PermissionError):
        return UserError(f"{exc.filename}: permission denied; check the file's permissions")
    if isinstance(exc, IsADirectoryError):
        return UserError(f"{exc.filename}: is a folder, expected a file")
    return None


class XrbidGroup(click.Group):
    """A Click group that turns library errors (`XrbidError`) into one-line user errors."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            err = _as_user_error(exc)
            if err is None:
                raise
            raise err from exc


def overwrite_option(f: Callable) -> Callable:
    """``--overwrite``: allow replacing existing output files."""
    return click.option(
        "--overwrite", is_flag=True, help="Replace output files that already exist."
    )(f)


def headers_option(f: Callable) -> Callable:
    """``--headers canonical|xrbid``: the column names of written tables."""
    return click.option(
        "--headers",
        type=click.Choice(["canonical", "xrbid"]),
        default="canonical",
        show_default=True,
        help="Column names to write: canonical (source_id, ra, pu_2sigma, ...) or XRBID-style "
        "(CSC ID, RA, 2Sig, ...).",
    )(f)


def json_option(f: Callable) -> Callable:
    """``--json``: print a machine-readable summary instead of the human one."""
    return click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")(
        f
    )


def emit(summary: str, data: dict[str, Any], as_json: bool) -> None:
    """Print the one-line human ``summary``, or ``data`` as JSON when ``as_json``."""
    if as_json:
        json.dump(data, sys.stdout, default=_json_default)
        sys.stdout.write("\n")
    else:
        click.echo(summary)


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)


class AngleParam(click.ParamType):
    """An angle with a unit (``2arcsec``, ``0.5arcmin``, ``1.2"``), as a float in arcsec.

    Parsing is :func:`xrbid.sky.to_arcsec`; a bare number is taken to be in arcsec.
    """

    name = "angle"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        from xrbid.sky import to_arcsec

        try:
            return to_arcsec(value, what="angle")
        except XrbidError as exc:
            self.fail(str(exc), param, ctx)


ANGLE = AngleParam()
