"""xrbid._docs.insert_doc: shared docstring parts put in place, indented like their placeholder."""

import pytest

from xrbid._docs import insert_doc
from xrbid.archives import query_csc, query_gaia

PART = "x : float\n    A number."


def test_part_takes_the_indentation_of_its_placeholder():
    @insert_doc(part=PART)
    def f():
        """Summary.

        Parameters
        ----------
        {part}
        y : {"a", "b"}
            Braces other than placeholders stay.
        """

    lines = f.__doc__.splitlines()
    assert lines[4:8] == [
        "        x : float",
        "            A number.",
        '        y : {"a", "b"}',
        "            Braces other than placeholders stay.",
    ]


def test_part_in_a_dedented_docstring():
    def f():
        pass

    f.__doc__ = "Summary.\n\nParameters\n----------\n{part}\n"
    insert_doc(part=PART)(f)
    assert f.__doc__ == "Summary.\n\nParameters\n----------\nx : float\n    A number.\n"


def test_missing_placeholder_is_refused():
    def f():
        """No placeholder."""

    with pytest.raises(ValueError, match=r"has no \{part\}"):
        insert_doc(part=PART)(f)


def test_no_docstring_stays_none():
    def f():
        pass

    assert insert_doc(part=PART)(f).__doc__ is None


@pytest.mark.parametrize("func", [query_csc, query_gaia])
def test_cone_searches_document_center_and_radius(func):
    doc = func.__doc__
    assert "{cone_parameters}" not in doc
    assert (
        "    center : SkyCoord or (float, float)\n"
        "        Cone centre; a pair is (ra, dec) in degrees.\n"
        "    radius : Quantity or float\n"
        "        Cone radius; a number is in arcsec.\n"
        "    release : {"
    ) in doc
