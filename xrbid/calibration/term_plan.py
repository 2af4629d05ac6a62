"""The terms of a photometric calibration model: variables, special terms, and the parsed plan.

`Term` (one monomial or special term), `TermRequest` (one appearance in a specification),
`ResolvedTerm` and `TermPlan` (what the fit receives). The specification language that builds
a plan is parsed by `xrbid.calibration.terms`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from xrbid.errors import InputError

__all__ = [
    "MAX_DEGREE",
    "NONLINEAR",
    "SPECIAL_TERMS",
    "VARIABLES",
    "ResolvedTerm",
    "Term",
    "TermPlan",
    "TermRequest",
    "TermSyntaxError",
]


Mode = Literal["fixed", "always", "stepwise"]


VARIABLES: dict[str, str] = {
    "X": "x position (normalised)",
    "Y": "y position (normalised)",
    "R": "radius from the field centre (normalised)",
    "A": "airmass",
    "B": "airmass relative to the image mean",
    "C": "colour 1 (filter 2 - filter 1)",
    "D": "colour 2 (filter 3 - filter 2)",
    "E": "colour 3 (filter 4 - filter 3)",
    "F": "colour 4 (filter 5 - filter 4)",
    "N": "instrumental magnitude",
}
"""Variables a polynomial term may contain, in the order used to spell canonical names."""


SPECIAL_TERMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "SX": ("sub-pixel response along x", ("X",)),
    "SY": ("sub-pixel response along y", ("Y",)),
    "SXY": ("sub-pixel response, x-y cross term", ("X", "Y")),
    "XC": ("universal colour term (piecewise linear in the band's position)", ("C", "D", "E")),
    "SC": ("universal colour term (smooth transitions)", ("C", "D", "E")),
    "RS": ("non-linearity: scale of the rational term", ("N",)),
    "RO": ("non-linearity: offset of the rational term", ("N",)),
    "RC": ("non-linearity: curvature of the rational term", ("N",)),
}
"""dophot3's terms that are not polynomials: name -> (meaning, variables whose columns it needs)."""


NONLINEAR = frozenset({"XC", "SC", "RO", "RC"})
"""Special terms whose value enters the model non-linearly (fitted iteratively)."""


MAX_DEGREE = 6
"""Largest total degree of a term written explicitly (macros stop at ``.p4``)."""


class TermSyntaxError(InputError):
    """A term specification cannot be parsed; the message names the token and its position.

    Attributes
    ----------
    spec : str
        The whole specification.
    position : int
        1-based character position of the offending token in ``spec``.
    token : str
        The offending token.
    """

    def __init__(self, problem: str, spec: str, position: int, token: str, hint: str = "") -> None:
        self.spec = spec
        self.position = position
        self.token = token
        self.problem = problem
        message = f"term {token!r} at position {position} of {spec!r}: {problem}"
        if hint:
            message += f"; {hint}"
        super().__init__(message)

    @property
    def caret(self) -> str:
        """The specification with a caret line under the offending token (two lines)."""
        width = max(len(self.token), 1)
        return f"{self.spec}\n{' ' * (self.position - 1)}{'^' * width}"


@dataclass(frozen=True, order=True)
class Term:
    """One term of the calibration model: a monomial (``PX2Y`` = x·y²) or a special term.

    Attributes
    ----------
    powers : tuple of (str, int)
        ``(variable, exponent)`` pairs in canonical variable order (empty for a special term).
    special : str
        Name of a special term (``SX``, ``XC``, ``RS``, ...; see `SPECIAL_TERMS`), or ``""``
        for a polynomial term.
    """

    powers: tuple[tuple[str, int], ...]
    special: str = ""

    @property
    def name(self) -> str:
        """Canonical name: ``P`` then each variable, its exponent written before it when > 1."""
        if self.special:
            return self.special
        return "P" + "".join(f"{e if e > 1 else ''}{v}" for v, e in self.powers)

    @property
    def degree(self) -> int:
        """Total degree (sum of exponents; 0 for a special term)."""
        return sum(e for _, e in self.powers)

    @property
    def variables(self) -> tuple[str, ...]:
        """The variables whose columns the term needs."""
        if self.special:
            return SPECIAL_TERMS[self.special][1]
        return tuple(v for v, _ in self.powers)

    @property
    def nonlinear(self) -> bool:
        """True for a term whose value enters the model non-linearly (`NONLINEAR`)."""
        return self.special in NONLINEAR

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class TermRequest:
    """One request for a term as written in the specification (before conflict resolution)."""

    term: Term
    fixed: bool = False
    always: bool = False
    stepwise: bool = False
    per_image: bool = False
    value: float | None = None
    position: int = 0
    source: str = ""

    @property
    def explicit(self) -> bool:
        """True if the request carries ``&`` or ``@``."""
        return self.always or self.stepwise

    def describe(self) -> str:
        """The request written back in the term language, e.g. ``&*PX``."""
        mods = "#" * self.fixed + "&" * self.always + "@" * self.stepwise + "*" * self.per_image
        value = f"={self.value:g}" if self.value is not None else ""
        return f"{mods}{self.term.name}{value}"


@dataclass(frozen=True)
class ResolvedTerm:
    """A term after the priority rules: how it enters the fit.

    Attributes
    ----------
    term : Term
    mode : {"fixed", "always", "stepwise"}
    per_image : bool
        One coefficient per image (``*``); ignored for fixed terms.
    value : float or None
        The fixed value (``#``), or the initial value given with ``=`` (the starting point of
        a non-linear term; a linear term's fit does not depend on it).
    """

    term: Term
    mode: Mode
    per_image: bool = False
    value: float | None = None

    @property
    def name(self) -> str:
        """Canonical name of the term."""
        return self.term.name

    def describe(self) -> str:
        """The resolved term in the term language (``&*PX``, ``#PA=0.12``, ``@SC=0.05``)."""
        if self.mode == "fixed":
            return f"#{self.name}={self.value:g}"
        mod = "&" if self.mode == "always" else "@"
        value = f"={self.value:g}" if self.value is not None else ""
        return f"{mod}{'*' if self.per_image else ''}{self.name}{value}"


@dataclass
class TermPlan:
    """The terms of a calibration model after parsing and conflict resolution.

    Attributes
    ----------
    spec : str
        The specification as given.
    terms : list of ResolvedTerm
        One entry per distinct term, in order of first appearance.
    notes : list of str
        One line per conflict that a priority rule resolved, naming the rule.
    """

    spec: str
    terms: list[ResolvedTerm] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> ResolvedTerm:
        for t in self.terms:
            if t.name == name:
                return t
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return any(t.name == name for t in self.terms)

    @property
    def names(self) -> list[str]:
        """Canonical names of all terms."""
        return [t.name for t in self.terms]

    def by_mode(self, mode: Mode) -> list[ResolvedTerm]:
        """Terms with the given mode."""
        return [t for t in self.terms if t.mode == mode]

    @property
    def variables(self) -> set[str]:
        """Variables used by any term (fixed ones included)."""
        return {v for t in self.terms for v in t.term.variables}

    def describe(self) -> str:
        """The resolved plan written in the term language, comma-separated."""
        return ",".join(t.describe() for t in self.terms)
