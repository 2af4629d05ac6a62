"""Configuration files: defaults, paths, and one-line errors naming the key."""

from __future__ import annotations

import tomllib

import pytest

from tests.conftest import TESTDATA
from xrbid.errors import InputError
from xrbid.pipeline import load_config, parse_image_spec, template
from xrbid.pipeline.config import GalaxyConfig, file_stem

from .conftest import m101_toml


def test_m101_config_defaults_and_paths(write_config, tmp_path):
    cfg = load_config(write_config(m101_toml()))
    assert isinstance(cfg, GalaxyConfig)
    assert cfg.name == "M101"
    assert cfg.alignment.method == "median"
    assert cfg.alignment.max_sep == 2.0  # 2 arcsec, documented default
    assert cfg.alignment.apply == "if-significant"
    assert cfg.radii.fallback == "ellipse" and cfg.radii.clamp is True
    assert cfg.counterparts.radius == "2sigma"
    assert cfg.outputs.folder == tmp_path / "out"  # relative to the configuration file
    assert cfg.xray.table.is_file()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.5arcmin", 30.0),
        ("1500mas", 1.5),
        ("3", 3.0),
        ("0.001deg", 3.6),
    ],
)
def test_angles_in_any_unit(write_config, text, expected):
    cfg = load_config(write_config(m101_toml(alignment=f'max_sep = "{text}"')))
    assert cfg.alignment.max_sep == pytest.approx(expected)


@pytest.mark.parametrize(
    ("alignment", "extra", "message"),
    [
        ('mx_sep = "2arcsec"', "", "[alignment].mx_sep: unknown key; allowed: method, reference"),
        ('method = "mean"', "", "[alignment].method: Input should be 'median' or 'wls'"),
        ('max_sep = "two"', "", "[alignment].max_sep: max_sep 'two' is not an angle"),
        ('max_sep = "-1arcsec"', "", "[alignment].max_sep: max_sep must be a positive angle"),
        # integers past a float's range (TOML's have no limit), and TOML's nan and inf
        (f"max_sep = {10**400}", "", "[alignment].max_sep: max_sep must be a positive angle"),
        (f"max_sep = -{10**400}", "", "[alignment].max_sep: max_sep must be a positive angle"),
        ("max_sep = nan", "", "[alignment].max_sep: max_sep must be a positive angle"),
        ("max_sep = inf", "", "[alignment].max_sep: max_sep must be a positive angle"),
        ("clip = true", "", "[alignment].clip:"),
        ("", 'figures = ["alignment", "movie"]', "[outputs.figures].1: Input should be"),
    ],
)
def test_wrong_key_or_type_is_one_line_with_the_key(write_config, alignment, extra, message):
    path = write_config(m101_toml(alignment=alignment, extra=extra))
    with pytest.raises(InputError) as err:
        load_config(path)
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith(f"{path}: ")
    assert message in text


def test_missing_section_and_missing_file(write_config, tmp_path):
    with pytest.raises(InputError, match=r"\[galaxy\]: missing; add it"):
        load_config(write_config(m101_toml().replace('[galaxy]\nname = "M101"', "")))
    with pytest.raises(InputError) as err:
        load_config(write_config(m101_toml(table="nowhere.vot")))
    assert "[xray].table: file nowhere.vot does not exist" in str(err.value)
    assert str(tmp_path / "nowhere.vot") in str(err.value)
    with pytest.raises(InputError, match="no such configuration file"):
        load_config(tmp_path / "absent.toml")
    with pytest.raises(InputError, match="not a valid TOML file"):
        load_config(write_config("[galaxy\nname = 1"))


def test_calibrators_need_exactly_one_source(write_config):
    text = m101_toml().replace("[calibrators]\n", "[calibrators]\nds9 = true\n")
    with pytest.raises(InputError, match=r"\[calibrators\]: .*exactly one of ids"):
        load_config(write_config(text))


def test_image_specs():
    s = parse_image_spec("f.fits[SCI,2]")
    assert (str(s.path), s.ext, s.chip) == ("f.fits", "SCI,2", None)
    s = parse_image_spec("u40x010hm_c0f.fits.gz[chip=2]")
    assert (s.ext, s.chip) == (None, 2)
    assert parse_image_spec("plain.fits").options == {}
    assert str(parse_image_spec("a.fits[1]")) == "a.fits[1]"


def test_template_is_valid_toml_with_the_documented_defaults():
    text = template("NGC1313")
    data = tomllib.loads(text)
    assert data["galaxy"]["name"] == "NGC1313"
    assert data["outputs"]["folder"] == "ngc1313-output"
    spaced = tomllib.loads(template("NGC 1313"))
    assert (
        spaced["galaxy"]["name"] == "NGC 1313" and spaced["outputs"]["folder"] == "ngc1313-output"
    )
    # every commented default is the model's default
    assert '# method = "median"' in text and '# max_sep = "2arcsec"' in text
    assert '# fallback = "ellipse"' in text and '# radius = "2sigma"' in text
    with pytest.raises(InputError, match="use letters"):
        template('bad "name"')


@pytest.mark.parametrize("name", [".", "..", "-x", " M101", "+", "_"])
def test_template_name_starts_with_a_letter_or_digit(name):
    with pytest.raises(InputError, match="start with a letter or digit"):
        template(name)
    assert file_stem("30 Dor") == "30dor"
    assert tomllib.loads(template("30 Dor"))["galaxy"]["name"] == "30 Dor"


def test_pixel_or_angle_lengths(write_config, tmp_path):
    image = TESTDATA / "hst-wfpc2-abell478" / "a478hst-cutout.fits"
    base = f'[galaxy]\nname = "A478"\n[optical.images]\nF814W = "{image}"\n'
    cfg = load_config(write_config(base + '[optical.detection]\nfwhm = "0.2arcsec"\n'))
    assert (cfg.optical.detection.fwhm, cfg.optical.detection.fwhm_unit) == (0.2, "arcsec")
    cfg = load_config(write_config(base + '[photometry]\nradius = "2.5pix"\n'))
    assert (cfg.photometry.radius, cfg.photometry.radius_unit) == (2.5, "pix")
    with pytest.raises(InputError, match=r"fwhm '2px': write it like 2pix or 0\.1arcsec"):
        load_config(write_config(base + '[optical.detection]\nfwhm = "2px"\n'))
    with pytest.raises(InputError, match=r"\[optical.images\].F814W: file .*nope.fits does not"):
        load_config(write_config(base.replace(str(image), str(tmp_path / "nope.fits"))))


@pytest.mark.parametrize(
    "value",
    ['"nanpix"', '"infpix"', '"-2pix"', '"0pix"', '"1e400pix"', "-2.0", "0.0", "nan", "inf"],
)
@pytest.mark.parametrize(
    ("section", "key"), [("optical.detection", "fwhm"), ("photometry", "radius")]
)
def test_pixel_lengths_must_be_positive_and_finite(write_config, section, key, value):
    """Refused with the configuration, not when the step that uses them runs."""
    image = TESTDATA / "hst-wfpc2-abell478" / "a478hst-cutout.fits"
    text = f'[galaxy]\nname = "A478"\n[optical.images]\nF814W = "{image}"\n[{section}]\n'
    path = write_config(text + f"{key} = {value}\n")
    with pytest.raises(InputError) as err:
        load_config(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: [{section}].{key}: ")
    assert "greater than 0" in message or "finite number" in message


@pytest.mark.parametrize("folder", ["/", "../../../../../../../../../.."])
def test_output_folder_filesystem_root_refused(write_config, folder):
    path = write_config(m101_toml(folder=folder))
    with pytest.raises(InputError) as err:
        load_config(path)
    assert str(err.value) == (
        f"{path}: [outputs].folder is the filesystem root /; give the galaxy a folder of its "
        'own, e.g. folder = "xrbid-output"'
    )


def test_config_saved_with_a_byte_order_mark(tmp_path):
    # Windows editors save UTF-8 with a BOM; tomllib refuses it at line 1, column 1
    path = tmp_path / "m101.toml"
    path.write_bytes(b"\xef\xbb\xbf" + m101_toml().encode("utf-8"))
    assert load_config(path).name == "M101"


def test_the_angle_units_of_a_configuration_are_astropys():
    # the configuration reads angles through its own table of units (no astropy import on a
    # run); astropy.units is the reference for every factor and for parsed values
    from astropy import units as u

    from xrbid.pipeline.config import _ARCSEC_PER, _angle

    marks = {'"': "arcsec", "'": "arcmin"}  # the astronomers' marks, as xrbid.sky reads them
    for unit, factor in _ARCSEC_PER.items():
        if unit is None:
            assert factor == 1.0  # a bare number is arcsec
            continue
        assert u.Unit(marks.get(unit, unit)).to(u.arcsec) == pytest.approx(factor, rel=1e-15)
    for text in ["2arcsec", "0.5arcmin", "1500mas", "0.001deg", "1e-3 deg", "+.25arcmin"]:
        assert _angle(text, "x") == pytest.approx(u.Quantity(text).to_value(u.arcsec), rel=1e-15)
    assert _angle('1.2"', "x") == pytest.approx(1.2) and _angle("0.5'", "x") == pytest.approx(30.0)
