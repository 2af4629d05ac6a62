"""The steps of ``xrbid run``, in order; each a call of the library's public functions.

The steps themselves live with their side of the work: `xray_steps` (the X-ray table, the
calibrators), `optical_steps` (sources, photometry, classification, finder charts),
`position_steps` (alignment, radii, best observations, candidates) and `report`. What a step
is, and what it sees, is `step.py`. Importing this module loads none of the science stack.
"""

from __future__ import annotations

from .config import GalaxyConfig
from .optical_steps import CLASSIFY, FINDERS, OPTICAL, PHOTOMETRY
from .position_steps import ALIGN, BEST, COUNTERPARTS, RADII
from .report import REPORT
from .step import Context, Step
from .xray_steps import CALIBRATORS, XRAY

__all__ = ["STEPS", "Context", "Step", "enabled_steps"]

# Without an X-ray table only the optical side runs (detection -> photometry -> CMD).
STEPS: dict[str, Step] = {
    s.name: s
    for s in [
        XRAY,
        CALIBRATORS,
        OPTICAL,
        ALIGN,
        RADII,
        BEST,
        COUNTERPARTS,
        PHOTOMETRY,
        CLASSIFY,
        FINDERS,
        REPORT,
    ]
}


def enabled_steps(cfg: GalaxyConfig) -> list[Step]:
    """The steps this configuration runs, in order."""
    return [s for s in STEPS.values() if s.enabled(cfg)]
