"""Loading one extension of a multi-extension FITS file into a real DS9, over XPA and SAMP.

What DS9 shows is read back from DS9 itself (``fits header`` of the loaded frame, ``fits
width``/``height``); the expected values are those of the files' own headers, as listed in
their SOURCES.txt (an HST ACS/WFC FLT with SCI,1 and SCI,2 of different CRVAL, and a WFPC2
drizzled product with SCI, WHT and CTX extensions).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from astropy.io import fits

from xrbid.errors import InputError
from xrbid.photometry.image_spec import parse_image_spec

pytestmark = pytest.mark.ds9

# SCI,1 / SCI,2 reference values of j94f05bgq_flt.fits (testdata SOURCES.txt)
FLT_CRVAL1 = {1: 5.63057, 2: 5.67073}


@pytest.fixture(scope="module")
def flt(testdata: Path) -> Path:
    return testdata / "hst-acs-47tuc-flt-header" / "j94f05bgq_flt.fits"


@pytest.fixture(scope="module")
def a478(testdata: Path) -> Path:
    return testdata / "hst-wfpc2-abell478" / "a478hst-cutout.fits"


def shown_header(ds9) -> fits.Header:
    """The FITS header of the image in DS9's current frame, as DS9 reports it."""
    return fits.Header.fromstring(ds9.get("fits header"), sep="\n")


@pytest.mark.parametrize("ext", ["SCI,2", 4])
def test_flt_sci_2_by_name_version_or_index(ds9, flt, ext) -> None:
    frame = ds9.open_image(flt, ext=ext)
    header = shown_header(ds9)
    assert (header["EXTNAME"], header["EXTVER"]) == ("SCI", 2)
    assert header["CRVAL1"] == pytest.approx(FLT_CRVAL1[2], abs=1e-5)
    assert frame == ds9.current_frame()


def test_flt_sci_1_then_sci_2_in_the_current_frame(ds9, flt) -> None:
    first = ds9.open_image(flt, ext="SCI")  # the first SCI extension
    assert shown_header(ds9)["EXTVER"] == 1
    wcs_1, _ = ds9.image_wcs()
    second = ds9.open_image(flt, frame="current", ext="SCI,2")
    assert second == first and ds9.frames() == [first]
    assert shown_header(ds9)["EXTVER"] == 2
    wcs_2, _ = ds9.image_wcs()  # not the WCS of SCI,1 kept from before
    assert wcs_1.wcs.crval[0] == pytest.approx(FLT_CRVAL1[1], abs=1e-5)
    assert wcs_2.wcs.crval[0] == pytest.approx(FLT_CRVAL1[2], abs=1e-5)


@pytest.mark.parametrize(
    ("spec", "extname", "bitpix"),
    [("", "SCI", -32), ("[2]", "WHT", -32), ("[CTX]", "CTX", 32), ("[wht,1]", "WHT", -32)],
)
def test_drizzled_extensions_as_image_specs(ds9, a478, spec, extname, bitpix) -> None:
    ds9.open_image(parse_image_spec(f"{a478}{spec}"))
    header = shown_header(ds9)
    assert (header["EXTNAME"], header["BITPIX"]) == (extname, bitpix)
    assert (int(ds9.get("fits width")), int(ds9.get("fits height"))) == (600, 600)


def test_extension_of_a_path_with_spaces_and_command_characters(ds9, flt, tmp_path) -> None:
    folder = tmp_path / "run 1; frame delete all $HOME #x"
    folder.mkdir()
    copy = folder / "flt copy.fits"
    shutil.copyfile(flt, copy)
    ds9.open_image(copy, ext="SCI,2")
    header = shown_header(ds9)
    assert (header["EXTNAME"], header["EXTVER"]) == ("SCI", 2)
    assert len(ds9.frames()) == 1  # no ';' reached DS9 as a command


@pytest.mark.parametrize(
    ("ext", "message"),
    [
        ("SCI,3", "no extension 'SCI,3'; extensions are 0:PRIMARY, 1:SCI, 2:ERR"),
        (7, "no extension 7"),
        ("ERR", "[ERR] holds no image for DS9 to show; its images are 1:SCI, 4:SCI"),
        (0, "[0] holds no image"),
    ],
)
def test_missing_or_empty_extension_is_refused_before_ds9(ds9, flt, ext, message) -> None:
    with pytest.raises(InputError) as info:
        ds9.open_image(flt, ext=ext)
    assert message in str(info.value)
    assert ds9.frames() == []  # refused before any frame was made


def test_a_path_with_brackets_is_refused_naming_the_character(ds9, flt, tmp_path) -> None:
    copy = tmp_path / "flt[1].fits"
    shutil.copyfile(flt, copy)
    # the file exists, so its name is not read as IMAGE[ext]; DS9 would read it so
    for image in (copy, parse_image_spec(copy)):
        with pytest.raises(InputError, match=r"has the character '\['.*rename or copy"):
            ds9.open_image(image)
    with pytest.raises(InputError, match=r"has the character '\['"):
        ds9.open_image(copy, ext=1)
    assert ds9.frames() == []


def test_a_geis_waiver_chip_is_refused(ds9, testdata) -> None:
    c0f = testdata / "hst-wfpc2-omegacen-c0f" / "u40x010hm_c0f.fits.gz"
    with pytest.raises(InputError, match=r"\[chip=2\]: DS9 cannot show one chip of a GEIS waiver"):
        ds9.open_image(parse_image_spec(f"{c0f}[chip=2]"))
    assert ds9.frames() == []


def test_an_extension_in_brackets_of_a_plain_string(ds9, flt) -> None:
    ds9.open_image(f"{flt}[SCI,2]")
    header = shown_header(ds9)
    assert (header["EXTNAME"], header["EXTVER"]) == ("SCI", 2)


@pytest.mark.parametrize("image", ["{flt}[SCI,2]", "spec"])
def test_an_extension_given_twice_is_refused(ds9, flt, image) -> None:
    named = parse_image_spec(f"{flt}[SCI,2]") if image == "spec" else image.format(flt=flt)
    with pytest.raises(InputError, match=r"the extension is given twice, in \[...\] and as ext="):
        ds9.open_image(named, ext=1)
    assert ds9.frames() == []
