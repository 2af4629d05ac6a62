"""``xrbid run``: whole galaxies from configuration files, one in process or many on dask."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from xrbid.pipeline.steps import STEPS

from ._common import overwrite_option

STEP_NAMES = list(STEPS)


def _status_line(name: str, status) -> str:
    if status.state == "ran":
        return f"  {name}: {status.step:<13} done ({status.seconds:.2f} s)"
    if status.state == "up to date":
        return f"  {name}: {status.step:<13} up to date"
    return f"  {name}: {status.step:<13} {status.state} {status.reason}".rstrip()


def _summary_table(results) -> list[str]:
    width = max([len(r.name) for r in results] + [6])
    lines = [f"{'galaxy':<{width}}  {'status':<7} {'ran':>3} {'kept':>4} {'seconds':>7}  result"]
    for r in results:
        ran = sum(s.state == "ran" for s in r.steps)
        kept = sum(s.state == "up to date" for s in r.steps)
        if r.ok:
            c = r.counts()
            parts = [
                f"{c[k]} {k}" for k in ("sources", "candidates", "measured") if c[k] is not None
            ]
            text = " -> ".join(s for s in (", ".join(parts), r.folder) if s)
        else:
            text = r.error or "failed"
        status = "ok" if r.ok else "FAILED"
        lines.append(f"{r.name:<{width}}  {status:<7} {ran:>3} {kept:>4} {r.seconds:>7.2f}  {text}")
    return lines


@click.command("run")
@click.argument("configs", metavar="CONFIG.toml...", nargs=-1, type=click.Path(path_type=Path))
@click.option("--init", "init_name", metavar="NAME", help="Write a commented template NAME.toml.")
@click.option(
    "--force",
    multiple=True,
    type=click.Choice(STEP_NAMES),
    help="Recompute this step even if it is up to date (repeatable).",
)
@click.option("--until", type=click.Choice(STEP_NAMES), help="Stop after this step.")
@click.option("--dry-run", is_flag=True, help="List the steps that would run, and why; run none.")
@click.option(
    "-j",
    "--workers",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Several galaxies: local dask worker processes (1: one by one, in this process).",
)
@click.option("--scheduler", metavar="ADDRESS", help="Use a running dask.distributed scheduler.")
@overwrite_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
@click.option("-q", "--quiet", is_flag=True, help="No progress display.")
def run(
    configs: tuple[Path, ...],
    init_name: str | None,
    force: tuple[str, ...],
    until: str | None,
    dry_run: bool,
    workers: int,
    scheduler: str | None,
    overwrite: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """Run every step of a galaxy from one configuration file, and write report.html.

    One CONFIG runs in this process, with a progress display; several run in parallel on
    dask (local processes, -j N, or --scheduler ADDRESS), a failing galaxy reported while
    the others finish. Steps whose inputs and parameters did not change are not recomputed.

    \b
    Examples:
      xrbid run --init NGC1313                 # writes ngc1313.toml to fill in
      xrbid run examples/m101.toml             # -> demo-output/m101/report.html
      xrbid run examples/m101.toml --dry-run   # what would run, and why
      xrbid run examples/*.toml -j 2           # several galaxies on dask
    """
    from xrbid.errors import InputError, XrbidError
    from xrbid.pipeline import plan_galaxy, run_galaxy, run_many

    if init_name is not None:
        ignored = [
            what
            for what, given in [
                ("CONFIG.toml", configs), ("--force", force), ("--until", until),
                ("--dry-run", dry_run), ("--scheduler", scheduler), ("--json", as_json),
            ]
            if given
        ]  # fmt: skip
        if ignored:
            raise InputError(
                f"--init NAME writes a template and runs nothing; give it without "
                f"{', '.join(ignored)} (then run the template)"
            )
        from xrbid._io import write_text_atomic
        from xrbid.pipeline.template import file_stem, template

        path = Path(f"{file_stem(init_name)}.toml")
        write_text_atomic(path, template(init_name, path.name), overwrite=overwrite)
        click.echo(f"wrote {path}: fill in the paths, then `xrbid run {path}`")
        return
    if not configs:
        raise InputError("give a galaxy configuration (CONFIG.toml), or --init NAME for a template")

    if dry_run:
        plans = {str(c): plan_galaxy(c, force=force, until=until) for c in configs}
        if as_json:
            data = {c: [s.__dict__ for s in p] for c, p in plans.items()}
            json.dump(data, sys.stdout, default=str)
            sys.stdout.write("\n")
            return
        for c, plan in plans.items():
            click.echo(f"{c}:")
            for s in plan:
                click.echo(f"  {s.step:<13} {s.state}" + (f" ({s.reason})" if s.reason else ""))
        return

    show = not quiet and not as_json
    if len(configs) == 1 and scheduler is None:

        def progress(name, status):
            if show and status.state != "running":
                click.echo(_status_line(name, status), err=True)

        confirm = None
        if sys.stdin.isatty():

            def confirm(message: str) -> None:
                click.prompt(message, default="", show_default=False, err=True)

        try:
            result = run_galaxy(
                configs[0], force=force, until=until, overwrite=overwrite, progress=progress,
                confirm=confirm, figure_process=True,
            )  # fmt: skip
        except XrbidError as exc:
            if not as_json:
                raise
            # --json promises a summary on stdout, failed galaxies included (as with several)
            from xrbid.pipeline.many import _failed

            result = _failed(str(configs[0]), exc)
            click.echo(f"Error: {exc}", err=True)
        results = [result]
    else:

        def on_result(r):
            if show:
                state = "done" if r.ok else "FAILED"
                click.echo(f"  {r.name}: {state} ({r.seconds:.2f} s)", err=True)

        results = run_many(
            [str(c) for c in configs], workers=workers, scheduler=scheduler, force=force,
            until=until, overwrite=overwrite, on_result=on_result,
        )  # fmt: skip
    if as_json:
        json.dump([r.to_dict() for r in results], sys.stdout, default=str)
        sys.stdout.write("\n")
    else:
        for line in _summary_table(results):
            click.echo(line)
    failed = [r for r in results if not r.ok]
    if failed:
        raise click.exceptions.Exit(1)
