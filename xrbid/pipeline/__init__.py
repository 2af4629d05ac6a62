"""``xrbid run``: a whole galaxy from one configuration file, and many galaxies on dask.

`load_config` reads and validates a galaxy's TOML configuration; `run_galaxy` runs its steps
in one process, recomputing only the steps whose inputs or parameters changed, and writes the
tables, region files, plots and ``report.html`` into the output folder; `run_many` runs
several galaxies in parallel on dask.
"""

from .config import GalaxyConfig, load_config, parse_image_spec
from .many import run_many
from .run import GalaxyResult, StepStatus, plan_galaxy, run_galaxy
from .steps import STEPS
from .template import template

__all__ = [
    "STEPS",
    "GalaxyConfig",
    "GalaxyResult",
    "StepStatus",
    "load_config",
    "parse_image_spec",
    "plan_galaxy",
    "run_galaxy",
    "run_many",
    "template",
]
