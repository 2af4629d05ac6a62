"""Every -U line of the dophot3 term-language document, with the resolution it states.

The lines of its Examples 1-6, "Combining Per-Image", "Default Behavior Control", the
Priority Rules and the Quick Reference, written out term by term: (mode, per image, value).
Shared by the parser tests and the fit tests.
"""

from __future__ import annotations

P2 = ("PX", "PY", "P2X", "PXY", "P2Y")
P3 = (*P2, "P3X", "P2XY", "PX2Y", "P3Y")
P4 = (*P3, "P4X", "P3XY", "P2X2Y", "PX3Y", "P4Y")


def _modes(terms, mode, per_image=False, value=None):
    return {t: (mode, per_image, value) for t in terms}


_Y = _modes(("PX", "PY"), "always", True)  # what -y adds: &*.p

DOCUMENT_LINES = [
    # the introduction and "Examples Explained"
    (False, "@.p2,&.r2,#PC=0.1", {**_modes(P2, "stepwise"), **_modes(("PR", "P2R"), "always"),
                                  "PC": ("fixed", False, 0.1)}),
    (False, "@.p2", _modes(P2, "stepwise")),
    (False, "&.r2", _modes(("PR", "P2R"), "always")),
    (False, "#PC=0.1", {"PC": ("fixed", False, 0.1)}),
    (False, "&*PX", {"PX": ("always", True, None)}),
    # Example 2
    (False, "&.r2,&PC", _modes(("PR", "P2R", "PC"), "always")),
    # Example 3
    (False, "@.p3,&.r2,#PC=0.1,SC=0.05", {**_modes(P3, "stepwise"),
                                          **_modes(("PR", "P2R"), "always"),
                                          "PC": ("fixed", False, 0.1),
                                          "SC": ("stepwise", False, 0.05)}),
    # Example 4
    (False, "#PC=0.12,#PD=0.03,&.r3,@.p4,SX=0.001", {"PC": ("fixed", False, 0.12),
                                                     "PD": ("fixed", False, 0.03),
                                                     **_modes(("PR", "P2R", "P3R"), "always"),
                                                     **_modes(P4, "stepwise"),
                                                     "SX": ("stepwise", False, 0.001)}),
    # Example 5
    (True, "@.p2,&*P2R,#PC=0.1", {**_Y, **_modes(P2[2:], "stepwise"),
                                  "P2R": ("always", True, None), "PC": ("fixed", False, 0.1)}),
    # Example 6
    (False, "&*.p2", _modes(P2, "always", True)),
    # "Combining Per-Image with Other Modifiers"
    (False, "&*P2R,@.p2", {"P2R": ("always", True, None), **_modes(P2, "stepwise")}),
    (False, "#PC=0.12,&*PX,&*PY", {"PC": ("fixed", False, 0.12), **_Y}),
    (True, "*P2R", {**_Y, "P2R": ("stepwise", True, None)}),
    # "Default Behavior Control" (default: --use-stepwise)
    (False, ".p2,.r2", _modes((*P2, "PR", "P2R"), "stepwise")),
    (False, "@.p2,&.r2", {**_modes(P2, "stepwise"), **_modes(("PR", "P2R"), "always")}),
    # Priority Rules
    (False, "#PC=0.1,&PC,@PC", {"PC": ("fixed", False, 0.1)}),
    (True, ".p2", {**_Y, **_modes(P2[2:], "stepwise")}),
    (False, "&*PX,@PX", {"PX": ("always", True, None)}),
    (False, "&PC,@PX,.p1", {"PC": ("always", False, None), "PX": ("stepwise", False, None),
                            "PY": ("stepwise", False, None)}),
    (False, "&PC,@PC", {"PC": ("always", False, None)}),
    (True, "@.p3,&.p2,#PXY=0.02", {**_Y, "PXY": ("fixed", False, 0.02),
                                   **_modes(("P2X", "P2Y"), "always"),
                                   **_modes(("P3X", "P3Y", "PX2Y", "P2XY"), "stepwise")}),
    # Quick Reference: beginners
    (True, "@.p2", {**_Y, **_modes(P2[2:], "stepwise")}),
    (True, "@.p2,PC", {**_Y, **_modes((*P2[2:], "PC"), "stepwise")}),
    # experienced users
    (True, "@.p3,&.r2,PC,PD", {**_Y, **_modes((*P3[2:], "PC", "PD"), "stepwise"),
                               **_modes(("PR", "P2R"), "always")}),
    (True, "#PC=0.12,#PD=0.03,@.p2", {**_Y, "PC": ("fixed", False, 0.12),
                                      "PD": ("fixed", False, 0.03),
                                      **_modes(P2[2:], "stepwise")}),
    (True, "@.p2,&*P2R", {**_Y, **_modes(P2[2:], "stepwise"), "P2R": ("always", True, None)}),
    # advanced calibration
    (True, "@.p4,@.r3,@.c2,@.d2", {**_Y, **_modes(
        (*P4[2:], "PR", "P2R", "P3R", "PC", "P2C", "PD", "P2D"), "stepwise")}),
    (True, "&.p2,&.r2,&PC,@.p3", {**_Y, **_modes((*P2[2:], "PR", "P2R", "PC"), "always"),
                                  **_modes(P3[5:], "stepwise")}),
    (False, "#PC=0.123,#PD=0.045,#PR=-0.02,@.p2", {"PC": ("fixed", False, 0.123),
                                                   "PD": ("fixed", False, 0.045),
                                                   "PR": ("fixed", False, -0.02),
                                                   **_modes(P2, "stepwise")}),
    # "The Philosophy": the five patterns
    (False, "&.p2", _modes(P2, "always")),
    (False, "&*.p2", _modes(P2, "always", True)),
]  # fmt: skip
