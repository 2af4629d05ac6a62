"""The term language of photometric calibration fits (in the spirit of dophot3's ``-U``).

A specification such as ``'@.p2,&PC,#PA=0.12'`` is a comma-separated list of items. Each item
is zero or more *modifiers* followed by a *term* or a *macro*, optionally followed by ``=value``:

========  ==================================================================================
``@``     stepwise: the term is a candidate, kept only if statistically significant
``&``     always: the term is always fitted, never removed
``#``     fixed: the term is held at the value given with ``=value`` (required)
``*``     per image: one coefficient per image instead of one global coefficient
========  ==================================================================================

A *term* is ``P`` followed by one or more variables, each optionally preceded by its exponent
(``P2XY`` is x²·y, ``PX2Y`` is x·y², ``PAC`` is airmass × colour C); an exponent 0 drops the
variable and an exponent 1 may be written (``P0X1Y`` is ``PY``, ``P1X1Y`` is ``PXY``).
Variables:

=====  ===========================================================================
``X``  x position, normalised to [-1, 1] over the field (see `~xrbid.calibration.photometric`)
``Y``  y position, normalised with the same centre and scale
``R``  radius from the field centre, sqrt(X² + Y²) in the same normalised units
``A``  airmass (absolute)
``B``  airmass relative to its mean over the star's image
``C``  colour 1: first filter − second filter (``B − V`` with filters ``B, V``)
``D``  colour 2: second filter − third filter
``E``  colour 3: third filter − fourth filter
``F``  colour 4: fourth filter − fifth filter
``N``  instrumental magnitude (non-linearity; rarely a good idea)
=====  ===========================================================================

A *macro* expands to several terms: ``.p1`` … ``.p4`` (all x/y monomials of total degree 1 … N),
``.r1`` … ``.r3`` (``PR`` … ``P3R``), ``.c1`` … ``.c3`` and ``.d1`` … ``.d3`` (powers of colour C
or D), ``.a1``, ``.a2`` (powers of airmass).

Conflicting requests for the same term are resolved by the priority rules of dophot3, in order:

1. ``#`` (fixed) wins over everything;
2. ``*`` (per image) wins over global requests: the global ones are dropped;
3. explicit (``&`` or ``@``) wins over unmarked requests, which take the default mode;
4. ``&`` (always) wins over ``@`` (stepwise).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from xrbid.errors import InputError

__all__ = [
    "MAX_DEGREE",
    "VARIABLES",
    "ResolvedTerm",
    "Term",
    "TermPlan",
    "TermRequest",
    "TermSyntaxError",
    "expand_macro",
    "parse_term",
    "parse_terms",
]

Mode = Literal["fixed", "always", "stepwise"]

VARIABLES: dict[str, str] = {
    "X": "x position (normalised)",
    "Y": "y position (normalised)",
    "R": "radius from the field centre (normalised)",
    "A": "airmass",
    "B": "airmass relative to the image mean",
    "C": "colour 1 (filter 1 - filter 2)",
    "D": "colour 2 (filter 2 - filter 3)",
    "E": "colour 3 (filter 3 - filter 4)",
    "F": "colour 4 (filter 4 - filter 5)",
    "N": "instrumental magnitude",
}
"""Variables a term may contain, in the order used to spell canonical term names."""

MAX_DEGREE = 6
"""Largest total degree of a term written explicitly (macros stop at ``.p4``)."""

_MACRO_LIMITS = {"p": 4, "r": 3, "c": 3, "d": 3, "a": 2}
_MODIFIERS = "@&#*"
_ORDER = {v: i for i, v in enumerate(VARIABLES)}


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
    """One monomial of the calibration model, e.g. ``PX2Y`` = x·y².

    Attributes
    ----------
    powers : tuple of (str, int)
        ``(variable, exponent)`` pairs in canonical variable order.
    """

    powers: tuple[tuple[str, int], ...]

    @property
    def name(self) -> str:
        """Canonical name: ``P`` then each variable, its exponent written before it when > 1."""
        return "P" + "".join(f"{e if e > 1 else ''}{v}" for v, e in self.powers)

    @property
    def degree(self) -> int:
        """Total degree (sum of exponents)."""
        return sum(e for _, e in self.powers)

    @property
    def variables(self) -> tuple[str, ...]:
        """The variables the term uses."""
        return tuple(v for v, _ in self.powers)

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
        The fixed value (``#``) or the initial value given with ``=`` (informational: the fit is
        linear, so it does not depend on a starting point).
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
        """The resolved term written in the term language (``&*PX``, ``#PA=0.12``, ``@PXY``)."""
        if self.mode == "fixed":
            return f"#{self.name}={self.value:g}"
        mod = "&" if self.mode == "always" else "@"
        return f"{mod}{'*' if self.per_image else ''}{self.name}"


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


_TERM_RE = re.compile(r"P((?:\d*[A-Z])+)(\d*)$")
_FACTOR_RE = re.compile(r"(\d*)([A-Z])")
_NUMBER_RE = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def parse_term(token: str, *, spec: str | None = None, position: int = 1) -> Term:
    """Parse one term name (``PX``, ``P2XY``, ``PAC``) into a `Term`.

    Parameters
    ----------
    token : str
        The term, without modifiers or value.
    spec, position : str, int
        The whole specification and the token's 1-based position in it, for error messages.

    Returns
    -------
    Term

    Raises
    ------
    TermSyntaxError
        If the token is not a valid term.

    Examples
    --------
    >>> parse_term("PX2Y").powers
    (('X', 1), ('Y', 2))
    >>> parse_term("P2YX").name  # y²·x, variables put in canonical order
    'PX2Y'
    """
    spec = token if spec is None else spec
    known = "".join(VARIABLES)

    def fail(problem: str, hint: str = "") -> TermSyntaxError:
        return TermSyntaxError(problem, spec, position, token, hint)

    m = _TERM_RE.match(token)
    if not m:
        if not token.startswith("P"):
            raise fail(
                "unknown term",
                f"terms start with P followed by variables ({known}), e.g. PX, P2R, PC; "
                "macros are .p1-.p4, .r1-.r3, .c1-.c3, .d1-.d3, .a1-.a2",
            )
        raise fail("unknown term", f"write P followed by variables from {known}, e.g. PX2Y")
    body, trailing = m.groups()
    if trailing:
        raise fail(
            f"exponent {trailing} follows the last variable",
            "an exponent comes before its variable: x*y^2 is PX2Y",
        )
    powers: dict[str, int] = {}
    for exp_text, var in _FACTOR_RE.findall(body):
        if var not in VARIABLES:
            raise fail(f"unknown variable {var!r}", f"known variables are {known}")
        exp = int(exp_text) if exp_text else 1
        if var in powers:
            raise fail(f"variable {var} appears twice", "write its power once, e.g. P2X")
        powers[var] = exp
    powers = {v: e for v, e in powers.items() if e > 0}  # P0X1Y is PY
    if not powers:
        raise fail("every exponent is 0", "the zero point is always fitted; write no term")
    term = Term(tuple(sorted(powers.items(), key=lambda p: _ORDER[p[0]])))
    if term.degree > MAX_DEGREE:
        raise fail(f"total degree {term.degree} exceeds the maximum {MAX_DEGREE}")
    return term


def expand_macro(name: str, *, spec: str | None = None, position: int = 1) -> list[Term]:
    """Expand a macro (``.p2``, ``.r2``, ``.c1``, ...) into its terms.

    ``.pN`` gives every monomial xⁱyʲ with 1 ≤ i + j ≤ N, by degree then by falling power of x:
    ``.p2`` → ``PX, PY, P2X, PXY, P2Y``. ``.rN`` gives ``PR`` … ``PNR``; ``.cN``, ``.dN``,
    ``.aN`` the powers of colour C, colour D and airmass.

    Parameters
    ----------
    name : str
        The macro with its leading dot.
    spec, position : str, int
        The whole specification and the macro's 1-based position, for error messages.

    Returns
    -------
    list of Term

    Examples
    --------
    >>> [t.name for t in expand_macro(".p2")]
    ['PX', 'PY', 'P2X', 'PXY', 'P2Y']
    >>> [t.name for t in expand_macro(".r2")]
    ['PR', 'P2R']
    """
    spec = name if spec is None else spec
    m = re.fullmatch(r"\.([a-z])(\d+)", name)
    kinds = ", ".join(f".{k}1-.{k}{n}" for k, n in _MACRO_LIMITS.items())
    if not m or m.group(1) not in _MACRO_LIMITS:
        raise TermSyntaxError("unknown macro", spec, position, name, f"macros are {kinds}")
    kind, degree = m.group(1), int(m.group(2))
    if not 1 <= degree <= _MACRO_LIMITS[kind]:
        raise TermSyntaxError(
            f"degree {degree} is out of range",
            spec,
            position,
            name,
            f".{kind} goes from 1 to {_MACRO_LIMITS[kind]}",
        )
    if kind == "p":
        terms = []
        for total in range(1, degree + 1):
            for i in range(total, -1, -1):
                powers = tuple((v, e) for v, e in (("X", i), ("Y", total - i)) if e)
                terms.append(Term(powers))
        return terms
    var = {"r": "R", "c": "C", "d": "D", "a": "A"}[kind]
    return [Term(((var, e),)) for e in range(1, degree + 1)]


def _split_items(spec: str) -> list[tuple[str, int]]:
    """Split on commas; return (stripped item, 1-based position of its first character)."""
    items = []
    start = 0
    for part in spec.split(","):
        stripped = part.strip()
        offset = len(part) - len(part.lstrip())
        items.append((stripped, start + offset + 1))
        start += len(part) + 1
    return items


def _parse_item(item: str, position: int, spec: str) -> list[TermRequest]:
    if not item:
        raise TermSyntaxError("empty item", spec, position, ",", "remove the extra comma")
    mods = ""
    i = 0
    while i < len(item) and item[i] in _MODIFIERS:
        if item[i] in mods:
            raise TermSyntaxError(
                f"modifier {item[i]} is repeated", spec, position + i, item[i], "write it once"
            )
        mods += item[i]
        i += 1
    body = item[i:]
    body_pos = position + i
    if not body or body.startswith("="):
        raise TermSyntaxError(
            f"modifier {mods[-1]} is not followed by a term",
            spec,
            position + i - 1,
            mods[-1],
            "write a term or macro after it, e.g. @.p2 or &PC",
        )
    name, eq, value_text = body.partition("=")
    name = name.strip()
    if not name:
        raise TermSyntaxError("missing term before '='", spec, body_pos, body)
    bad = next((c for c in name if c in _MODIFIERS), None)
    if bad:
        raise TermSyntaxError(
            f"modifier {bad} must come before the term",
            spec,
            body_pos + name.index(bad),
            bad,
            f"write {bad}{name.replace(bad, '')}",
        )
    value = None
    if eq:
        value_text = value_text.strip()
        value_pos = position + item.index("=") + 1
        if not _NUMBER_RE.match(value_text):
            raise TermSyntaxError(
                f"value {value_text!r} is not a number",
                spec,
                value_pos if value_text else value_pos - 1,
                value_text or "=",
                f"write e.g. #{name}=0.12",
            )
        value = float(value_text)
    fixed = "#" in mods
    if fixed and value is None:
        raise TermSyntaxError(
            "a fixed term (#) needs a value", spec, position, item, f"write e.g. #{name}=0.1"
        )
    if name.startswith("."):
        terms = expand_macro(name, spec=spec, position=body_pos)
    else:
        terms = [parse_term(name, spec=spec, position=body_pos)]
    return [
        TermRequest(
            term=t,
            fixed=fixed,
            always="&" in mods,
            stepwise="@" in mods,
            per_image="*" in mods,
            value=value,
            position=position,
            source=item,
        )
        for t in terms
    ]


def _resolve(
    term: Term, requests: list[TermRequest], default: Mode, spec: str
) -> tuple[ResolvedTerm, list[str]]:
    """Apply the four priority rules to the requests for one term."""
    notes: list[str] = []
    name = term.name

    def others(kept: list[TermRequest]) -> str:
        return ", ".join(r.describe() for r in requests if r not in kept)

    fixed = [r for r in requests if r.fixed]
    if fixed:  # rule 1: '#' beats everything
        values = {r.value for r in fixed}
        if len(values) > 1:
            first, second = fixed[0], next(r for r in fixed if r.value != fixed[0].value)
            raise TermSyntaxError(
                f"{name} is fixed at two values ({first.value:g} and {second.value:g})",
                spec,
                second.position,
                second.source,
                "keep one #-value",
            )
        if len(requests) > len(fixed):
            notes.append(f"{name}: fixed wins (rule 1); ignored {others(fixed)}")
        return ResolvedTerm(term, "fixed", False, fixed[0].value), notes

    pool = requests
    per_image = [r for r in pool if r.per_image]
    if per_image and len(per_image) < len(pool):  # rule 2: '*' beats global
        notes.append(f"{name}: per-image wins over global (rule 2); ignored {others(per_image)}")
        pool = per_image
    explicit = [r for r in pool if r.explicit]
    if explicit and len(explicit) < len(pool):  # rule 3: explicit beats default
        dropped = [r for r in pool if not r.explicit]
        notes.append(
            f"{name}: explicit wins over unmarked (rule 3); ignored "
            + ", ".join(r.describe() for r in dropped)
        )
        pool = explicit
    if any(r.always for r in pool):  # rule 4: '&' beats '@'
        if any(r.stepwise and not r.always for r in pool):
            dropped = [r for r in pool if r.stepwise and not r.always]
            notes.append(
                f"{name}: always wins over stepwise (rule 4); ignored "
                + ", ".join(r.describe() for r in dropped)
            )
        mode: Mode = "always"
    elif any(r.stepwise for r in pool):
        mode = "stepwise"
    else:
        mode = default
    values = [r.value for r in pool if r.value is not None]
    return ResolvedTerm(term, mode, bool(per_image), values[-1] if values else None), notes


def parse_terms(
    spec: str,
    *,
    default: Literal["stepwise", "always"] = "stepwise",
    per_image_pointing: bool = False,
) -> TermPlan:
    """Parse a term specification and resolve conflicting requests.

    Parameters
    ----------
    spec : str
        Comma-separated items, e.g. ``'@.p2,&PC,#PA=0.12'``. May be empty (zero point only).
    default : {"stepwise", "always"}
        Mode of terms written without ``@``, ``&`` or ``#`` (dophot3's ``--use-stepwise``).
    per_image_pointing : bool
        Add ``&*.p1`` (per-image ``PX`` and ``PY``, always fitted) before the specification, as
        dophot3's ``-y`` does.

    Returns
    -------
    TermPlan

    Raises
    ------
    TermSyntaxError
        For an unknown term or macro, a bad value, a dangling or repeated modifier, an empty
        item, or one term fixed at two different values. The message names the token and its
        1-based position in ``spec``.

    Examples
    --------
    >>> plan = parse_terms("@.p2,&PC,#PA=0.12")
    >>> plan.describe()
    '@PX,@PY,@P2X,@PXY,@P2Y,&PC,#PA=0.12'
    >>> parse_terms("&*PX,@PX").describe()
    '&*PX'
    """
    if default not in ("stepwise", "always"):
        raise InputError(f"default mode must be 'stepwise' or 'always', not {default!r}")
    requests: list[TermRequest] = []
    if per_image_pointing:
        requests += [
            TermRequest(t, always=True, per_image=True, source="-y") for t in expand_macro(".p1")
        ]
    if spec.strip():
        for item, position in _split_items(spec):
            requests += _parse_item(item, position, spec)
    grouped: dict[Term, list[TermRequest]] = {}
    for r in requests:
        grouped.setdefault(r.term, []).append(r)
    plan = TermPlan(spec)
    for term, reqs in grouped.items():
        resolved, notes = _resolve(term, reqs, default, spec)
        plan.terms.append(resolved)
        plan.notes.extend(notes)
    return plan
