"""The frames of a DS9 session: which exist, which is shown, tiling, blinking, matching."""

from __future__ import annotations

import math
from typing import Literal

from ..errors import InputError


class FramesMixin:
    """The frame methods of :class:`~xrbid.ds9.DS9` (they talk through its ``get``/``set``)."""

    def frames(self) -> list[int]:
        """The frame numbers that exist, in order."""
        return [int(v) for v in self.get("frame all").split()]

    def current_frame(self) -> int:
        """The number of the current frame (0 when there is none)."""
        text = self.get("frame").strip()
        return int(text) if text else 0

    def frame(self, number: int) -> None:
        """Make frame ``number`` current."""
        if int(number) not in self.frames():
            raise InputError(f"DS9 has no frame {number}; frames: {self.frames()}")
        self.set(f"frame {int(number)}")

    def delete_frames(self) -> None:
        """Delete every frame (a clean DS9)."""
        self.set("frame delete all")

    def tile(self, mode: Literal["grid", "column", "row"] | bool = "grid") -> None:
        """Show all frames side by side (``grid``, ``column``, ``row``); ``False`` for one."""
        if mode is False:
            self.set("tile no")
            return
        if mode is True:
            mode = "grid"
        if mode not in ("grid", "column", "row"):
            raise InputError(f"tile mode must be grid, column or row, not {mode!r}")
        self.set(f"tile mode {mode}")
        self.set("tile yes")

    def tile_state(self) -> str | None:
        """The tile mode when frames are tiled, else None."""
        if self.get("tile").strip() != "yes":
            return None
        return self.get("tile mode").strip()

    def blink(self, interval: float | bool | None = 0.5) -> None:
        """Blink the frames every ``interval`` seconds; ``False`` (or None) stops blinking and
        shows one frame."""
        if interval is None or interval is False:
            self.set("blink no")
            self.set("single")
            return
        try:
            value = float(interval)
        except (TypeError, ValueError):
            value = math.nan
        if interval is True or not (value > 0 and math.isfinite(value)):
            raise InputError(
                f"blink interval must be a positive number of seconds, not {interval!r}"
            )
        self.set(f"blink interval {value:g}")
        self.set("blink yes")

    def blink_state(self) -> float | None:
        """The blink interval in seconds while blinking, else None."""
        if self.get("blink").strip() != "yes":
            return None
        return float(self.get("blink interval"))

    def match_frames(self, system: Literal["wcs", "image"] = "wcs") -> None:
        """Match every frame to the current one on ``system`` and keep them locked so."""
        if system not in ("wcs", "image"):
            raise InputError(f"match system must be wcs or image, not {system!r}")
        if system == "wcs":
            self._require_wcs("matching frames on WCS")
        self.set(f"match frame {system}")
        self.set(f"lock frame {system}")
        self.set(f"lock crosshair {system}")
