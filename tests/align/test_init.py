"""The names of xrbid.align: the median method at import, the WLS fit on first use."""

from __future__ import annotations

import subprocess
import sys

import pytest

import xrbid.align
from xrbid.align import wls


def test_median_alignment_does_not_import_the_wls_fit():
    code = (
        "import sys; import xrbid.align as a; a.align_median; a.AlignmentSolution\n"
        "print(sorted(m for m in ('xrbid.align.wls', 'xrbid.align._engine') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_wls_names_are_those_of_the_wls_module():
    for name in ("QA_FLAGS", "WLSOptions", "align_wls", "align_wls_stacks"):
        assert getattr(xrbid.align, name) is getattr(wls, name)
        assert name in dir(xrbid.align) and name in xrbid.align.__all__


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="align_mean"):
        xrbid.align.align_mean  # noqa: B018
