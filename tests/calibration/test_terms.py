"""The term language: terms, macros, modifiers, priority rules and parse errors.

Expected expansions and resolutions are transcribed from the dophot3 term-language document
(its macro lists, its examples, and each example of its "Priority Rules" section).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xrbid.calibration.terms import (
    TermSyntaxError,
    expand_macro,
    parse_term,
    parse_terms,
)
from xrbid.errors import InputError

from .document_lines import DOCUMENT_LINES, P2, _modes


def names(macro: str) -> set[str]:
    return {t.name for t in expand_macro(macro)}


# ---------------------------------------------------------------------------- terms and macros


@pytest.mark.parametrize(
    ("token", "powers"),
    [
        ("PX", (("X", 1),)),
        ("PY", (("Y", 1),)),
        ("PXY", (("X", 1), ("Y", 1))),
        ("P2X", (("X", 2),)),
        ("P2Y", (("Y", 2),)),
        ("P2XY", (("X", 2), ("Y", 1))),
        ("PX2Y", (("X", 1), ("Y", 2))),
        ("PR", (("R", 1),)),
        ("P2R", (("R", 2),)),
        ("PC", (("C", 1),)),
        ("PD", (("D", 1),)),
        ("PA", (("A", 1),)),
        ("PAC", (("A", 1), ("C", 1))),
        ("PC2D", (("C", 1), ("D", 2))),
        ("PCDF", (("C", 1), ("D", 1), ("F", 1))),
    ],
)
def test_term_powers(token, powers):
    assert parse_term(token).powers == powers
    assert parse_term(token).name == token


@pytest.mark.parametrize(
    ("token", "canonical"),
    # the document's "Human-Friendly Notation": zero exponents omitted, exponents 1 omitted
    [("P0X1Y", "PY"), ("P1X0Y", "PX"), ("P1X1Y", "PXY"), ("P2X3Y", "P2X3Y"), ("PYX", "PXY")],
)
def test_human_friendly_notation(token, canonical):
    assert parse_term(token).name == canonical


def test_p1_p2_p3_as_documented():
    assert names(".p1") == {"PX", "PY"}
    assert names(".p") == names(".p1")  # -y adds '&*.p' = '&*PX,&*PY'
    assert names(".p2") == {"PX", "PY", "PXY", "P2X", "P2Y"}
    # ".p3 adds P3X, P2XY, PXY2, P3Y": PXY2 (trailing exponent) is x·y², canonically PX2Y
    added = {parse_term(t).name for t in ("P3X", "P2XY", "PXY2", "P3Y")}
    assert names(".p3") == names(".p2") | added
    assert added == {"P3X", "P2XY", "PX2Y", "P3Y"}
    assert len(expand_macro(".p4")) == 14  # 2 + 3 + 4 + 5 monomials of degree 1..4


def test_radial_macros_as_documented():
    assert [t.name for t in expand_macro(".r1")] == ["PR"]
    assert [t.name for t in expand_macro(".r2")] == ["PR", "P2R"]
    assert [t.name for t in expand_macro(".r3")] == ["PR", "P2R", "P3R"]


def test_special_macros_as_documented():
    # "Special Terms": .l -> RC, RS, RO (non-linearity); .s -> SXY, SX, SY (sub-pixel)
    assert [t.name for t in expand_macro(".l")] == ["RC", "RS", "RO"]
    assert [t.name for t in expand_macro(".s")] == ["SXY", "SX", "SY"]
    assert all(t.special for t in expand_macro(".l") + expand_macro(".s"))
    assert {t.name for t in expand_macro(".l") if t.nonlinear} == {"RC", "RO"}


@pytest.mark.parametrize("token", ["SC", "XC", "SX", "SY", "SXY", "RC", "RS", "RO"])
def test_special_terms_parse(token):
    term = parse_term(token)
    assert term.name == token and term.special == token and term.powers == ()


def test_special_term_variables():
    assert parse_term("SX").variables == ("X",)
    assert parse_term("SXY").variables == ("X", "Y")
    assert parse_term("XC").variables == ("C", "D", "E")
    assert parse_term("RS").variables == ("N",)
    assert parse_term("XC").nonlinear and not parse_term("SX").nonlinear


def test_colour_and_airmass_macros():
    assert [t.name for t in expand_macro(".c2")] == ["PC", "P2C"]
    assert [t.name for t in expand_macro(".d2")] == ["PD", "P2D"]
    assert [t.name for t in expand_macro(".a1")] == ["PA"]


# ---------------------------------------------------------------------------- modifiers


def test_modifiers_give_modes():
    plan = parse_terms("@PX,&PY,#PA=0.12,*PXY")
    assert plan["PX"].mode == "stepwise"
    assert plan["PY"].mode == "always"
    assert plan["PA"].mode == "fixed" and plan["PA"].value == 0.12
    assert plan["PXY"].per_image and plan["PXY"].mode == "stepwise"  # unmarked: default


def test_combined_modifiers():
    plan = parse_terms("&*PX")  # "always fit PX separately for each image"
    assert plan["PX"].mode == "always" and plan["PX"].per_image
    plan = parse_terms("&*.p2")  # the document's Example 6
    assert plan.names == [t.name for t in expand_macro(".p2")]
    assert all(t.mode == "always" and t.per_image for t in plan.terms)


def test_document_example_mixed_strategy():
    # Example 3: '@.p3,&.r2,#PC=0.1,SC=0.05'
    plan = parse_terms("@.p3,&.r2,#PC=0.1,SC=0.05")
    assert {t.name for t in plan.by_mode("stepwise")} == names(".p3") | {"SC"}
    assert {t.name for t in plan.by_mode("always")} == {"PR", "P2R"}
    assert plan["PC"].mode == "fixed" and plan["PC"].value == 0.1
    # "Set initial value for secondary color term, then use default behavior"
    assert plan["SC"].value == 0.05
    assert parse_terms("@.p3,&.r2,#PC=0.1,SC=0.05", default="always")["SC"].mode == "always"


def test_unmarked_value_is_initial_value_with_default_mode():
    plan = parse_terms("PC=0.05")
    assert plan["PC"].mode == "stepwise" and plan["PC"].value == 0.05


@pytest.mark.parametrize("default", ["stepwise", "always"])
def test_default_mode_controls_unmarked_terms(default):
    # "Default Behavior Control": '.p2,.r2' follow --use-stepwise
    plan = parse_terms(".p2,.r2", default=default)
    assert {t.mode for t in plan.terms} == {default}
    mixed = parse_terms("@.p2,&.r2", default=default)
    assert {t.mode for t in mixed.terms if t.name in names(".p2")} == {"stepwise"}
    assert {t.mode for t in mixed.terms if t.name in names(".r2")} == {"always"}


def test_y_option_adds_per_image_pointing():
    plan = parse_terms("", per_image_pointing=True)
    assert plan.describe() == "&*PX,&*PY"
    assert _resolved(plan) == _resolved(parse_terms("&*.p"))


def test_empty_spec_is_zero_point_only():
    assert parse_terms("").terms == []


# ---------------------------------------------------------------------------- priority rules
# One test per rule of the "Priority Rules" section, with the document's own examples.


def test_rule1_fixed_wins_everything():
    plan = parse_terms("#PC=0.1,&PC,@PC")
    assert plan.describe() == "#PC=0.1"
    assert plan["PC"].mode == "fixed" and plan["PC"].value == 0.1
    assert any("rule 1" in note for note in plan.notes)
    # also over a per-image request, in any order
    assert parse_terms("&*PC,#PC=0.1").describe() == "#PC=0.1"


def test_rule2_per_image_beats_global_with_y_option():
    # dophot3 -y -U '.p2': per-image PX, PY from -y; global PX, PY removed
    plan = parse_terms(".p2", per_image_pointing=True)
    assert plan["PX"].per_image and plan["PY"].per_image
    assert [t.name for t in plan.terms].count("PX") == 1
    assert plan["PX"].mode == "always"  # -y adds &*.p1
    assert not any(plan[n].per_image for n in ("PXY", "P2X", "P2Y"))
    assert sum("rule 2" in note for note in plan.notes) == 2


def test_rule2_per_image_beats_global_explicit():
    # '&*PX,@PX': per-image PX always fitted; global PX ignored
    plan = parse_terms("&*PX,@PX")
    assert plan.describe() == "&*PX"
    assert parse_terms("@PX,&*PX").describe() == "&*PX"  # order does not matter


def test_rule3_explicit_beats_default():
    # '&PC,@PX,.p1': PC always, PX stepwise, PY uses the default
    for default in ("stepwise", "always"):
        plan = parse_terms("&PC,@PX,.p1", default=default)
        assert plan["PC"].mode == "always"
        assert plan["PX"].mode == "stepwise"
        assert plan["PY"].mode == default
    # explicit '&' also beats an unmarked request when the default is stepwise
    assert parse_terms("PX,&PX", default="stepwise")["PX"].mode == "always"
    assert parse_terms("PX,@PX", default="always")["PX"].mode == "stepwise"


def test_rule4_always_beats_stepwise():
    plan = parse_terms("&PC,@PC")
    assert plan.describe() == "&PC"
    assert parse_terms("@PC,&PC").describe() == "&PC"
    assert any("rule 4" in note for note in plan.notes)


def test_priority_rules_real_world_example():
    # dophot3 -y -U '@.p3,&.p2,#PXY=0.02'
    plan = parse_terms("@.p3,&.p2,#PXY=0.02", per_image_pointing=True)
    for name in ("PX", "PY"):  # per-image wins (from -y), global versions removed
        assert plan[name].per_image and plan[name].mode == "always"
    assert plan["PXY"].mode == "fixed" and plan["PXY"].value == 0.02
    for name in ("P2X", "P2Y"):  # direct wins (from &.p2)
        assert plan[name].mode == "always" and not plan[name].per_image
    for name in ("P3X", "P3Y", "PX2Y", "P2XY"):  # stepwise candidates (from @.p3)
        assert plan[name].mode == "stepwise" and not plan[name].per_image
    assert len(plan.terms) == 9  # no duplicates


# ---------------------------------------------------------------------------- parse errors


@pytest.mark.parametrize(
    ("spec", "token", "position", "words"),
    [
        ("@.p2,PQ", "PQ", 6, "unknown variable 'Q'"),  # unknown term
        ("@.p2, QC", "QC", 7, "unknown term"),
        ("&.q", ".q", 2, "unknown macro"),
        ("&.l2", ".l2", 2, "unknown macro"),
        (".p5", ".p5", 1, "out of range"),
        ("#PA=abc", "abc", 5, "not a number"),  # bad value
        ("#PA=", "=", 4, "not a number"),
        ("#PA", "#PA", 1, "needs a value"),
        ("PX,@", "@", 4, "not followed by a term"),  # dangling modifier
        ("&*,PX", "*", 2, "not followed by a term"),
        ("PX,,PY", ",", 4, "empty item"),
        ("@@PX", "@", 2, "repeated"),
        ("P*X", "*", 2, "must come before the term"),
        ("PX2Y2", "PX2Y2", 1, "two exponents"),
        ("&RC,@PX", "&RC", 1, "no effect without RS"),
        ("#RS=0,RO=1", "RO=1", 7, "no effect without RS"),
        ("PXX", "PXX", 1, "appears twice"),
        ("P7X", "P7X", 1, "exceeds the maximum"),
        ("#PC=0.1,#PC=0.2", "#PC=0.2", 9, "fixed at two values"),
        ("#PX=1e400", "1e400", 5, "too large"),  # inf would turn every magnitude into NaN
        ("&PC=-1e999", "-1e999", 5, "too large"),
    ],
)
def test_parse_errors_name_token_and_position(spec, token, position, words):
    with pytest.raises(TermSyntaxError) as info:
        parse_terms(spec)
    err = info.value
    assert err.token == token
    assert err.position == position
    assert spec[position - 1 : position - 1 + len(token)] == token
    message = str(err)
    assert words in message
    assert f"{token!r} at position {position}" in message
    assert "\n" not in message  # one line for the command line
    assert isinstance(err, InputError)


def test_caret_points_at_the_token():
    with pytest.raises(TermSyntaxError) as info:
        parse_terms("@.p2,&PQ,#PA=0.12")
    assert info.value.caret == "@.p2,&PQ,#PA=0.12\n      ^^"


def test_whitespace_around_items_is_allowed_and_positions_stay_right():
    assert parse_terms(" @PX , &PC ").describe() == "@PX,&PC"
    with pytest.raises(TermSyntaxError) as info:
        parse_terms("@PX,  PQ")
    assert info.value.position == 7


# ---------------------------------------------------------------------------- properties

_ITEM = st.tuples(
    st.sampled_from(["", "@", "&", "*", "&*", "@*", "#"]),
    st.sampled_from(
        ["PX", "PY", "PXY", "P2X", ".p2", ".r2", "PC", "PA", "PAC", ".p3", ".s", "SC", "XC", "PBC"]
    ),
).map(lambda t: f"{t[0]}{t[1]}{'=0.1' if t[0] == '#' else ''}")


def _resolved(plan):
    return {t.name: (t.mode, t.per_image, t.value) for t in plan.terms}


@given(st.lists(_ITEM, min_size=1, max_size=8), st.randoms(use_true_random=False))
def test_resolution_does_not_depend_on_item_order(items, random):
    shuffled = list(items)
    random.shuffle(shuffled)
    assert _resolved(parse_terms(",".join(items))) == _resolved(parse_terms(",".join(shuffled)))


@given(st.lists(_ITEM, min_size=1, max_size=8), st.booleans())
def test_resolved_plan_written_back_parses_to_itself(items, pointing):
    plan = parse_terms(",".join(items), per_image_pointing=pointing)
    again = parse_terms(plan.describe())
    assert _resolved(again) == _resolved(plan)
    assert len(plan.names) == len(set(plan.names))  # no duplicates


# ---------------------------------------------------------------------------- every document line
# Each -U line of the dophot3 term-language document (its Examples 1-6, "Combining Per-Image",
# "Default Behavior Control", the Priority Rules and the Quick Reference), with the resolution
# the document states, written out term by term: (mode, per image, value).


@pytest.mark.parametrize(("y_option", "spec", "expected"), DOCUMENT_LINES)
def test_every_document_line_resolves_as_the_document_says(y_option, spec, expected):
    plan = parse_terms(spec, per_image_pointing=y_option)
    assert _resolved(plan) == expected
    assert len(plan.names) == len(set(plan.names))


def test_default_behavior_control_direct():
    # "Direct by default (--use-stepwise=False): -U '.p2,.r2' -- Both always included"
    plan = parse_terms(".p2,.r2", default="always")
    assert _resolved(plan) == _modes((*P2, "PR", "P2R"), "always")


def test_long_option_equivalent_of_the_short_form():
    # the document's --fit-terms/--fix-terms/--stepwise-for/--always-fit line is '@.p2,&.r2,#PC=0.1'
    plan = parse_terms("@.p2,&.r2,#PC=0.1")
    assert {t.name for t in plan.by_mode("stepwise")} == {"PX", "PY", "PXY", "P2X", "P2Y"}
    assert {t.name for t in plan.by_mode("always")} == {"PR", "P2R"}
    assert [(t.name, t.value) for t in plan.by_mode("fixed")] == [("PC", 0.1)]


@pytest.mark.parametrize(
    "token",
    # every term the document names: spatial, radial, colour and atmospheric polynomials
    # ("Any polynomial combination is possible"), the universal colour terms, the special terms
    ["PX", "PY", "PXY", "P2X", "P2Y", "P3X", "P2XY", "PXY2", "P3Y", "PX2Y", "PR", "P2R", "P3R",
     "PC", "P2C", "PD", "PC2D", "PCDF", "XC", "SC", "PA", "PAC", "PB", "PBC", "PN", "P2N",
     "RC", "RO", "RS", "SXY", "SX", "SY", "P2X3Y", "P0X1Y", "P1X0Y", "P1X1Y"],
)  # fmt: skip
def test_every_term_the_document_names_parses(token):
    # RC and RO shape RS: named with it, as .l does
    plan = parse_terms(f"&{token},&RS" if token in ("RC", "RO") else f"&{token}")
    assert len(plan.terms) >= 1 and plan.terms[0].mode == "always"
