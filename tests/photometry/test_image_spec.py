"""The one parser of image arguments: IMAGE, IMAGE[2], IMAGE[SCI,2], IMAGE[chip=N]."""

from __future__ import annotations

from pathlib import Path

import pytest

from xrbid.errors import InputError
from xrbid.photometry import load_image
from xrbid.photometry.image_spec import extension_key
from xrbid.photometry.images import ImageSpec, parse_image_spec


@pytest.mark.parametrize(
    ("text", "path", "options"),
    [
        ("f555w.fits", "f555w.fits", {}),
        ("f555w.fits[2]", "f555w.fits", {"ext": 2}),
        ("f555w.fits[SCI]", "f555w.fits", {"ext": "SCI"}),
        ("f555w.fits[SCI,2]", "f555w.fits", {"ext": "SCI,2"}),
        ("dir/u40x010hm_c0f.fits.gz[chip=3]", "dir/u40x010hm_c0f.fits.gz", {"chip": 3}),
        ("u40x010hm_c0f.fits[ CHIP = 2 ]", "u40x010hm_c0f.fits", {"chip": 2}),
    ],
)
def test_forms(text, path, options):
    spec = parse_image_spec(text)
    assert spec.path == Path(path) and spec.options == options


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("a.fits[chip=x]", r"\[chip=N\] needs a group number"),
        ("a.fits[chip=0]", r"\[chip=N\] needs a group number"),
        ("a.fits[]", r"cannot read \[\] as an extension"),
        ("a.fits[1,2,3]", r"cannot read \[1,2,3\] as an extension"),
    ],
)
def test_bad_forms_are_one_line_errors(text, match):
    with pytest.raises(InputError, match=match):
        parse_image_spec(text)


def test_a_file_whose_name_ends_in_brackets_is_taken_as_it_is(tmp_path):
    odd = tmp_path / "odd[1].fits"
    odd.write_bytes(b"")
    assert parse_image_spec(odd) == ImageSpec(odd)


def test_the_spec_selects_the_extension_load_image_reads(omegacen):
    spec = parse_image_spec(f"{omegacen}[chip=3]")
    assert str(spec) == f"{omegacen}[chip=3]"
    img = load_image(spec.path, **spec.options)
    assert img.ext == "chip 3" and img.shape == (800, 800)


@pytest.mark.parametrize(
    "inner",
    ["²", "١", "SCI,²", "9" * 5000, "chip=" + "9" * 5000, "chip=²", "1" * 10],
)
def test_digits_other_than_ascii_or_too_many_are_refused_in_one_line(inner):
    # '²'.isdigit() is True but int('²') fails; int() refuses more than 4300 digits; and a
    # name of several thousand characters is too long for the file system to look up
    with pytest.raises(InputError, match=r"as an extension|group number"):
        parse_image_spec(f"f555w.fits[{inner}]")


@pytest.mark.parametrize(
    ("ext", "key"),
    [(2, 2), ("2", 2), (" 4 ", 4), ("SCI", "SCI"), ("sci,2", ("sci", 2)), ("SCI , 2", ("SCI", 2))],
)
def test_extension_key_forms(ext, key):
    assert extension_key(ext) == key


@pytest.mark.parametrize("ext", ["SCI,2,3", "1,5", "SCI,abc", "²", -1, 1.5, True, "", "SCI;x"])
def test_extension_key_refuses_what_is_no_extension(ext):
    with pytest.raises(InputError):
        extension_key(ext)


def test_load_image_refuses_an_extension_with_three_parts_instead_of_taking_the_first(
    testdata,
):
    # "SCI,2,3" used to open the first SCI (version 1), "1,5" extension 1
    flt = testdata / "hst-acs-47tuc-flt-header" / "j94f05bgq_flt.fits"
    for ext in ("SCI,2,3", "1,5"):
        with pytest.raises(InputError, match="cannot read"):
            load_image(flt, ext=ext)
