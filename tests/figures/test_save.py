"""The one save helper: format from the suffix, atomic, no clobbering."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from xrbid.errors import InputError, OutputExistsError
from xrbid.figures import check_figure_path, figure_format, save_figure

MAGIC = {
    ".png": b"\x89PNG\r\n\x1a\n",
    ".pdf": b"%PDF-",
    ".eps": b"%!PS-Adobe",
    ".jpg": b"\xff\xd8\xff",
}


def _figure() -> Figure:
    fig = Figure(figsize=(2, 2))
    fig.add_subplot().plot([0, 1], [0, 1])
    return fig


@pytest.mark.parametrize("suffix", [".png", ".pdf", ".eps", ".jpg", ".PDF"])
def test_the_suffix_names_the_format(tmp_path, suffix):
    out = save_figure(_figure(), tmp_path / f"plot{suffix}")
    assert out.read_bytes().startswith(MAGIC[suffix.lower()])


def test_svg_is_svg(tmp_path):
    text = save_figure(_figure(), tmp_path / "plot.svg").read_text()
    assert text.startswith("<?xml") and "<svg" in text[:1000]


def test_unknown_suffix_is_refused_before_writing(tmp_path):
    with pytest.raises(InputError, match=r"format 'xyz'.*\.png, \.pdf, \.svg"):
        save_figure(_figure(), tmp_path / "plot.xyz")
    with pytest.raises(InputError, match="no extension"):
        check_figure_path(tmp_path / "plot")
    assert list(tmp_path.iterdir()) == []
    assert figure_format("a.JPEG") == "jpeg"


def test_existing_file_is_kept_unless_overwrite(tmp_path):
    out = tmp_path / "plot.png"
    out.write_bytes(b"keep me")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        save_figure(_figure(), out)
    with pytest.raises(OutputExistsError):
        check_figure_path(out)
    assert out.read_bytes() == b"keep me"
    save_figure(_figure(), out, overwrite=True)
    assert out.read_bytes().startswith(MAGIC[".png"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plot.png"]  # no temporary left


def test_missing_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        save_figure(_figure(), tmp_path / "nowhere" / "plot.png")


def test_no_library_module_switches_the_backend():
    import re
    from pathlib import Path

    import xrbid

    root = Path(xrbid.__file__).parent
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if re.search(
            r"matplotlib\.use\(|import matplotlib\.pyplot|from matplotlib import pyplot",
            p.read_text(encoding="utf-8"),
        )
    ]
    assert offenders == []
