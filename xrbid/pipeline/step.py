"""What a step of ``xrbid run`` is (`Step`), and what it sees while it runs (`Context`).

A step declares what it needs (earlier steps, input files, parameters) and which files it
writes; `run.py` decides from the manifests (`state.py`) which steps must run. Every step
function reads its inputs through the `Context` (earlier results in memory, or their files
when the earlier step was up to date) and writes its outputs into the staging folder.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import GalaxyConfig

if TYPE_CHECKING:
    from .render import FigureProcess

__all__ = ["Context", "Step"]


@dataclass
class Context:
    """What a running step sees: the configuration, where to write, earlier results."""

    cfg: GalaxyConfig
    folder: Path
    staging: Path
    data: dict[str, Any] = field(default_factory=dict)
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    inputs: dict[str, dict[str, str]] = field(default_factory=dict)
    ran: list[str] = field(default_factory=list)
    confirm: Callable[[str], None] | None = None
    figures: FigureProcess | None = None

    def out(self, name: str) -> Path:
        """Where a step writes its output ``name`` (in the staging folder)."""
        return self.staging / name

    def existing(self, name: str) -> Path:
        """An output of an earlier step: the staged one of this run, else the committed one."""
        staged = self.staging / name
        return staged if staged.exists() else self.folder / name

    def figure(self, name: str, kind: str, values: dict[str, Any], arrays: dict[str, Any]) -> None:
        """Draw the output figure ``name`` from plain data (see `xrbid.figures._jobs`).

        With a plotting process (`xrbid.pipeline.render`) the figure is handed to it and the
        step goes on; the run puts the file in place before the report or the commit.
        Otherwise it is drawn here, now.

        Raises
        ------
        OutputError
            Drawn here, it cannot be drawn (one line, as when the plotting process fails).
        """
        values = json.loads(json.dumps(values))  # what the plotting process would receive
        if self.figures is not None and self.figures.submit(name, kind, values, arrays):
            return
        from .render import draw

        draw(name, kind, values, arrays, self.out(name))  # as the fallback of the process

    def get(self, step: str) -> Any:
        """The result of an earlier step (loaded from its outputs if it did not run now)."""
        if step not in self.data:
            from .steps import STEPS

            self.data[step] = STEPS[step].load(self)
        return self.data[step]


def _no_params(cfg: GalaxyConfig) -> dict[str, Any]:
    return {}


def _no_inputs(cfg: GalaxyConfig) -> dict[str, Path]:
    return {}


def _always(cfg: GalaxyConfig) -> bool:
    return True


def _nothing(ctx: Context) -> None:
    return None


def _never(cfg: GalaxyConfig) -> bool:
    return False


@dataclass(frozen=True)
class Step:
    """One step: its dependencies, inputs, parameters, outputs and the work itself.

    Attributes
    ----------
    name, title : str
        The step's name (``--force NAME``) and how the report calls it.
    needs : tuple of str
        Earlier steps whose outputs are inputs of this one.
    work : callable
        ``work(ctx) -> summary``: does the step, writes its outputs with ``ctx.out(name)``.
    outputs : callable
        ``outputs(cfg) -> [file names]`` it will write (more may depend on the data).
    load : callable
        ``load(ctx) -> result`` from its committed outputs, for a later step that needs it.
    params, inputs : callable
        ``cfg -> dict``: the parameters and input files whose change makes it run again.
    enabled : callable
        ``cfg -> bool``: whether this configuration runs the step.
    draws : callable
        ``cfg -> bool``: whether the step draws a figure with `Context.figure` (a run then
        starts its plotting process early, see `xrbid.pipeline.render`).
    """

    name: str
    title: str
    needs: tuple[str, ...]
    work: Callable[[Context], dict[str, Any]]
    outputs: Callable[[GalaxyConfig], list[str]]
    load: Callable[[Context], Any] = _nothing
    params: Callable[[GalaxyConfig], dict[str, Any]] = _no_params
    inputs: Callable[[GalaxyConfig], dict[str, Path]] = _no_inputs
    enabled: Callable[[GalaxyConfig], bool] = _always
    draws: Callable[[GalaxyConfig], bool] = _never
