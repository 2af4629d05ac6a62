"""Run one galaxy in this process (`run_galaxy`), or say what a run would do (`plan_galaxy`).

`run_galaxy` runs the steps of one configuration in order, skipping those whose manifest
says they are up to date (`state.py`), and commits the outputs of the steps it ran together.
Several galaxies in parallel on dask: `many.py`.
"""

from __future__ import annotations

import contextlib
import contextvars
import fnmatch
import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import InputError, OutputExistsError, XrbidError
from ..figures._save import FIGURE_FORMATS
from . import render
from .config import GalaxyConfig, load_config
from .state import (
    STATE_DIR,
    Manifest,
    commit,
    discard,
    file_hash,
    folder_lock,
    make_key,
    read_manifest,
    remove_stale_temps,
    staging_dir,
)
from .steps import STEPS, Context, Step, enabled_steps

__all__ = ["GalaxyResult", "StepStatus", "plan_galaxy", "run_galaxy"]

Progress = Callable[[str, "StepStatus"], None]


@dataclass
class StepStatus:
    """What happened to one step: ``ran``, ``cached`` (up to date), ``would run``, ..."""

    step: str
    state: str
    reason: str = ""
    seconds: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class GalaxyResult:
    """The outcome of one galaxy's run."""

    name: str
    config: str
    ok: bool
    error: str | None = None
    failed_step: str | None = None
    steps: list[StepStatus] = field(default_factory=list)
    seconds: float = 0.0
    folder: str = ""

    def counts(self) -> dict[str, Any]:
        """Headline numbers: X-ray sources, calibrators used, candidates, ..."""
        s = {st.step: st.summary for st in self.steps}
        return {
            "sources": s.get("best", {}).get("sources"),
            "calibrators": s.get("align", {}).get("n_used"),
            "candidates": s.get("counterparts", {}).get("candidates"),
            "measured": s.get("photometry", {}).get("rows"),
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {**asdict(self), "counts": self.counts()}


def _check_folder(cfg: GalaxyConfig, overwrite: bool) -> Path:
    folder = cfg.outputs.folder
    if folder.exists() and not folder.is_dir():
        raise InputError(f"[outputs].folder {folder} is a file; give a folder")
    if folder.is_dir() and not overwrite:
        # an earlier run's outputs may be replaced; any other file of the same name may not
        # (a user's alignment.png in a folder whose earlier runs drew none). A step whose
        # manifest is there but unreadable ran here: its outputs are taken as its own.
        names = set()
        for step in enabled_steps(cfg):
            manifest = read_manifest(folder, step.name)
            if manifest is not None:
                names.update(set(step.outputs(cfg)) - set(manifest.get("outputs", {})))
            elif not (folder / STATE_DIR / f"{step.name}.json").exists():
                names.update(step.outputs(cfg))
        clash = sorted(n for n in names if (folder / n).exists())
        if clash:
            raise OutputExistsError(
                f"{folder} holds {clash[0]} not written by xrbid run; use --overwrite "
                "(overwrite=True in Python) to replace it, or choose another [outputs].folder"
            )
    return folder


# the configuration key of each step input (image_<filter> is [optical.images].<filter>)
_INPUT_KEYS = {
    "table": "[xray].table",
    "ids_file": "[calibrators].file",
    "sources": "[optical].sources",
    "image": "[optical.images]",
    "reference": "[alignment].reference",
    "models": "[classify].models",
}


def _check_inputs(cfg: GalaxyConfig) -> None:
    """Refuse an input file that the run itself writes (or keeps its state in).

    Such a file changes under the run: a step would read a half-replaced file, or its own
    previous output, and never be up to date.
    """
    folder = cfg.outputs.folder
    steps = enabled_steps(cfg)
    written = {n for s in steps for n in s.outputs(cfg)}
    for s in steps:
        old = read_manifest(folder, s.name)
        written |= set(old.get("outputs", {})) if old is not None else set()
    for step in steps:
        for label, path in step.inputs(cfg).items():
            path = Path(path).resolve()
            ours = path.is_relative_to(folder / STATE_DIR) or (
                path.parent == folder
                and (path.name in written or fnmatch.fnmatch(path.name, "finder_*.png"))
            )
            if ours:
                key = _INPUT_KEYS.get(label) or f"[optical.images].{label.partition('_')[2]}"
                raise InputError(
                    f"{cfg.path or cfg.name}: {key}: {path} is an output of this run in "
                    f"[outputs].folder {folder}; copy it elsewhere, or choose another folder"
                )


def _config_hash(cfg: GalaxyConfig) -> str:
    return file_hash(cfg.path) if cfg.path is not None else ""


def _is_figure(name: str) -> bool:
    return Path(name).suffix.lower() in FIGURE_FORMATS


def _input_hash(path: Path, hashes: dict[tuple, str] | None) -> str:
    """``file_hash(path)``, once per version of the file in a run (``hashes`` remembers)."""
    if hashes is None:
        return file_hash(path)
    st = os.stat(path)
    key = (str(path), st.st_mtime_ns, st.st_size, st.st_ino)
    if key not in hashes:
        hashes[key] = file_hash(path)
    return hashes[key]


def _inputs(
    step: Step,
    cfg: GalaxyConfig,
    manifests: dict[str, Manifest],
    hashes: dict[tuple, str] | None = None,
) -> dict[str, str]:
    inputs = {label: _input_hash(Path(p), hashes) for label, p in step.inputs(cfg).items()}
    report = step.name == "report"
    upstream = step.needs if not report else tuple(manifests)
    for up in upstream:
        m = manifests.get(up)
        if m is None:
            continue  # a disabled step
        for name, digest in m.get("outputs", {}).items():
            # only the report reads figures; the steps after one that draws need not wait
            # for its figures (drawn in the plotting process, see render.py)
            if report or not _is_figure(name):
                inputs[f"{up}/{name}"] = digest
        if step.name == "report":
            inputs[f"{up}#key"] = m["key"]
    if step.name == "report":
        inputs["config"] = _config_hash(cfg)
    return inputs


def _select(cfg: GalaxyConfig, until: str | None, force: Iterable[str]) -> list[Step]:
    steps = enabled_steps(cfg)
    names = [s.name for s in steps]
    for name in [*force, *([until] if until else [])]:
        if name not in STEPS:
            raise InputError(f"unknown step {name!r}; steps: {', '.join(STEPS)}")
        if name not in names:
            raise InputError(f"step {name!r} does not run with this configuration")
    if until is not None:
        steps = steps[: names.index(until) + 1]
    return steps


def plan_galaxy(
    config: str | os.PathLike | GalaxyConfig,
    *,
    force: Sequence[str] = (),
    until: str | None = None,
) -> list[StepStatus]:
    """Which steps a run would compute, and why, without running anything (``--dry-run``).

    A step after one that would run is listed as ``would run`` when its inputs are not
    known yet (they are the earlier step's new outputs).
    """
    cfg = config if isinstance(config, GalaxyConfig) else load_config(config)
    _check_inputs(cfg)
    return list(_plan(cfg, _select(cfg, until, force), force))


def _plan(
    cfg: GalaxyConfig,
    steps: list[Step],
    force: Sequence[str],
    hashes: dict[tuple, str] | None = None,
) -> Iterator[StepStatus]:
    """The status each of ``steps`` would have (``would run`` or ``up to date``), in order."""
    folder = cfg.outputs.folder
    manifests: dict[str, Manifest] = {}
    pending: list[str] = []  # in step order, so the reasons read the same every time
    for step in steps:
        old = read_manifest(folder, step.name)
        after = [u for u in (step.needs if step.name != "report" else pending) if u in pending]
        if step.name in force:
            yield StepStatus(step.name, "would run", "forced")
        elif after:
            yield StepStatus(step.name, "would run", f"after {', '.join(after)}")
        elif old is None:
            yield StepStatus(step.name, "would run", "never ran")
        else:
            params, inputs = step.params(cfg), _inputs(step, cfg, manifests, hashes)
            if old.up_to_date(make_key(step.name, params, inputs), folder):
                manifests[step.name] = old
                yield StepStatus(step.name, "up to date", "", summary=old.get("summary", {}))
                continue
            why = old.changes(params, inputs, folder) or "inputs or parameters changed"
            yield StepStatus(step.name, "would run", why)
        pending.append(step.name)


def _will_draw(
    cfg: GalaxyConfig, steps: list[Step], force: Sequence[str], hashes: dict[tuple, str]
) -> bool:
    """Whether a step that draws a figure is going to run (worth a plotting process)."""
    last = max((i for i, s in enumerate(steps) if s.draws(cfg)), default=None)
    if last is None:
        return False
    return any(
        status.state == "would run" and STEPS[status.step].draws(cfg)
        for status in _plan(cfg, steps[: last + 1], force, hashes)
    )


def run_galaxy(
    config: str | os.PathLike | GalaxyConfig,
    *,
    force: Sequence[str] = (),
    until: str | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
    confirm: Callable[[str], None] | None = None,
    figure_process: bool = False,
) -> GalaxyResult:
    """Run one galaxy's steps in this process; recompute only what changed.

    Parameters
    ----------
    config : path or GalaxyConfig
        The galaxy configuration (TOML file, see `load_config`).
    force : sequence of str
        Steps to recompute even if up to date.
    until : str, optional
        Stop after this step.
    overwrite : bool
        Allow replacing files in an output folder that ``xrbid run`` did not write.
    progress : callable, optional
        Called with ``(galaxy name, StepStatus)`` as each step starts (state ``running``)
        and ends.
    confirm : callable, optional
        Called with a message when the user must act in DS9 (``[calibrators].ds9``); returns
        when they are done. Without it, interactive calibrator picking is refused.
    figure_process : bool
        Draw the figures in a plotting process started at the beginning of the run, so that
        importing matplotlib and drawing overlap the other steps (`xrbid.pipeline.render`);
        started only when a step that draws is going to run. The files are the same either
        way. ``xrbid run`` with one configuration uses it; galaxies run in parallel do not.

    Returns
    -------
    GalaxyResult

    Raises
    ------
    XrbidError
        A configuration or input problem, as one line naming the galaxy and the step. The
        steps that finished before it keep their new outputs; the failing step writes nothing.
    """
    t0 = time.perf_counter()
    cfg = config if isinstance(config, GalaxyConfig) else load_config(config)
    steps = _select(cfg, until, force)
    _check_inputs(cfg)
    folder = _check_folder(cfg, overwrite)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"[outputs].folder: cannot create {folder} ({exc.strerror})") from None
    with folder_lock(folder):
        return _run_locked(cfg, steps, folder, force, progress, confirm, t0, figure_process)


def _run_locked(
    cfg: GalaxyConfig,
    steps: list[Step],
    folder: Path,
    force: Sequence[str],
    progress: Progress | None,
    confirm: Callable[[str], None] | None,
    t0: float,
    figure_process: bool = False,
) -> GalaxyResult:
    """The body of `run_galaxy`, with the output folder held by this process."""
    names = {n for s in enabled_steps(cfg) for n in s.outputs(cfg)}
    for step in STEPS:
        manifest = read_manifest(folder, step)
        names.update(manifest.get("outputs", {}) if manifest is not None else ())
    remove_stale_temps(folder, names)
    staging = staging_dir(folder)
    figures = None
    hashes: dict[tuple, str] = {}  # the input files' hashes, computed once in this run
    try:
        if figure_process and _will_draw(cfg, steps, force, hashes):
            figures = render.FigureProcess(staging)
            figures.start()  # inside the try: Ctrl-C just after it started still ends it
        return _run_steps(
            cfg, steps, folder, staging, force, progress, confirm, t0, figures, hashes
        )
    finally:
        if figures is not None:
            figures.close()
        # the commit removes it; this covers an interruption (Ctrl-C, a worker's SIGTERM)
        # that came before the steps' own handling began
        discard(staging)


def _run_steps(
    cfg: GalaxyConfig,
    steps: list[Step],
    folder: Path,
    staging: Path,
    force: Sequence[str],
    progress: Progress | None,
    confirm: Callable[[str], None] | None,
    t0: float,
    figures: render.FigureProcess | None,
    hashes: dict[tuple, str],
) -> GalaxyResult:
    ctx = Context(cfg=cfg, folder=folder, staging=staging, confirm=confirm, figures=figures)
    result = GalaxyResult(cfg.name, str(cfg.path or ""), ok=True, folder=str(folder))
    manifests: dict[str, Manifest] = {}
    ran: list[Manifest] = []
    drawing: list[tuple[Manifest, list[render.FigureJob]]] = []  # figures still to collect
    notify = progress or (lambda name, status: None)
    try:
        for step in steps:
            if step.name == "report":  # it reads the figures
                _figures_in_place(cfg, figures, drawing, staging, ran)
            inputs = _inputs(step, cfg, manifests, hashes)
            ctx.inputs[step.name] = {k: v for k, v in inputs.items() if "/" not in k}
            params = step.params(cfg)
            key = make_key(step.name, params, inputs)
            old = read_manifest(folder, step.name)
            if step.name not in force and old is not None and old.up_to_date(key, folder):
                manifests[step.name] = old
                ctx.summaries[step.name] = old.get("summary", {})
                status = StepStatus(step.name, "up to date", summary=ctx.summaries[step.name])
                result.steps.append(status)
                notify(cfg.name, status)
                continue
            notify(cfg.name, StepStatus(step.name, "running"))
            ctx.ran.append(step.name)
            before = set(os.listdir(staging))
            ts = time.perf_counter()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    # a fresh context: the step's files reach the staging folder at once even
                    # when the caller has an output transaction open (the commit joins it)
                    summary = contextvars.Context().run(step.work, ctx)
                except BaseException as exc:
                    if figures is not None:
                        figures.take()  # a failed step's figures are not kept
                    if not isinstance(exc, XrbidError):
                        raise
                    err = type(exc)(f"{cfg.name}: step {step.name}: {exc}")
                    err.step, err.galaxy = step.name, cfg.name
                    raise err from exc
            notes = sorted({str(w.message) for w in caught if issubclass(w.category, UserWarning)})
            if notes:
                summary["warnings"] = notes
            manifest = Manifest(
                step=step.name,
                key=key,
                version=__version__,
                params=params,
                inputs=inputs,
                outputs={n: file_hash(staging / n) for n in _written(staging, before)},
                summary=summary,
                seconds=round(time.perf_counter() - ts, 4),
                finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            )
            manifests[step.name] = manifest
            ctx.summaries[step.name] = summary
            ran.append(manifest)
            if figures is not None and figures.pending:
                drawing.append((manifest, figures.take()))
            status = StepStatus(step.name, "ran", seconds=manifest["seconds"], summary=summary)
            result.steps.append(status)
            notify(cfg.name, status)
        _figures_in_place(cfg, figures, drawing, staging, ran)
    except BaseException as exc:
        # the steps that finished keep their outputs (their figures drawn, here if need be:
        # after Ctrl-C the plotting process gets render.GRACE seconds); the failing one
        # leaves nothing
        grace = None if isinstance(exc, Exception) else render.GRACE
        for manifest, _ in _collect(figures, drawing, staging, grace=grace):
            ran.remove(manifest)
        if figures is not None:
            figures.close()  # nothing more to draw: it must not write into staging
        _commit(folder, staging, ran)
        with contextlib.suppress(AttributeError):
            exc.steps = list(result.steps)  # what finished (and was kept), for a summary
        raise
    if figures is not None:
        figures.close()
    _commit(folder, staging, ran)
    result.seconds = time.perf_counter() - t0
    return result


def _collect(
    figures: render.FigureProcess | None,
    drawing: list[tuple[Manifest, list[render.FigureJob]]],
    staging: Path,
    *,
    grace: float | None = None,
) -> list[tuple[Manifest, XrbidError]]:
    """Put the figures of the steps that ran in the staging folder; record their hashes.

    Each figure comes from the plotting process (waited for until ``render.TIMEOUT`` seconds
    after it was sent, or ``grace`` seconds from now if that is sooner), or is drawn here.
    Returns the steps whose figure could not be drawn at all, with the error. A step leaves
    ``drawing`` only when all its figures are in place (or one failed): if the wait is
    interrupted (Ctrl-C), the rest stay there, for the run to collect before it commits,
    and no step is committed without its figures.
    """
    failed = []
    while drawing:
        manifest, jobs = drawing[0]
        try:
            while jobs:
                job = jobs[0]
                deadline = job.sent + render.TIMEOUT
                if grace is not None:
                    deadline = min(deadline, time.monotonic() + grace)
                notes = figures.collect(job, deadline)
                jobs.pop(0)
                outputs = {**manifest["outputs"], job.name: file_hash(staging / job.name)}
                manifest["outputs"] = dict(sorted(outputs.items()))
                if notes:
                    summary = manifest["summary"]
                    summary["warnings"] = sorted(set(notes).union(summary.get("warnings", [])))
        except XrbidError as exc:
            failed.append((manifest, exc))
        drawing.pop(0)
    return failed


def _figures_in_place(
    cfg: GalaxyConfig,
    figures: render.FigureProcess | None,
    drawing: list[tuple[Manifest, list[render.FigureJob]]],
    staging: Path,
    ran: list[Manifest],
) -> None:
    """`_collect`; a step whose figure cannot be drawn is not kept, and the run fails."""
    failed = _collect(figures, drawing, staging)
    for manifest, _ in failed:
        ran.remove(manifest)
    if failed:
        manifest, exc = failed[0]
        err = type(exc)(f"{cfg.name}: step {manifest['step']}: {exc}")
        err.step, err.galaxy = manifest["step"], cfg.name
        raise err from exc


def _written(staging: Path, before: set[str]) -> list[str]:
    """The files a step wrote (its outputs may depend on the data: one finder chart a source)."""
    return sorted(set(os.listdir(staging)) - before)


def _commit(folder: Path, staging: Path, ran: list[Manifest]) -> None:
    """Commit the steps that ran; then remove what their earlier runs wrote and they did not."""
    stale = []
    for manifest in ran:
        old = read_manifest(folder, manifest["step"])
        if old is not None:
            stale += [n for n in old.get("outputs", {}) if n not in manifest["outputs"]]
    commit(folder, staging, ran)
    for name in stale:
        with contextlib.suppress(FileNotFoundError):
            (folder / name).unlink()


def __getattr__(name: str) -> Any:
    if name == "run_many":  # its home before many.py
        from .many import run_many

        return run_many
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
