"""Bad input to a whole run: one line each, nothing half-written, earlier outputs kept."""

from __future__ import annotations

import re

import pytest
from astropy.io import fits
from astropy.wcs import WCS

from tests.conftest import TESTDATA
from xrbid.errors import DS9Error, InputError
from xrbid.pipeline import plan_galaxy, run_galaxy
from xrbid.pipeline.state import STATE_DIR

from .conftest import OPTICAL, m101_toml

GOODSN = (
    TESTDATA
    / "hst-acs-candels-goodsn"
    / "candels_gn_30mas_189.492060_62.206150_100.0pix-x-100.0pix_astrocut.fits"
)


def _snapshot(folder):
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_image_without_wcs(tmp_path, write_config):
    with fits.open(GOODSN) as hdul:
        hdu = hdul[1].copy()
    for key in WCS(hdu.header).to_header(relax=True):
        hdu.header.remove(key, ignore_missing=True, remove_all=True)
    for key in ("CD1_1", "CD1_2", "CD2_1", "CD2_2"):
        hdu.header.remove(key, ignore_missing=True)
    nowcs = tmp_path / "f606w_nowcs.fits"
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(nowcs)
    config = write_config(
        f"""
[galaxy]
name = "GOODS-N"
[optical.images]
F606W = "{nowcs}[1]"
F814W = "{GOODSN}[2]"
[outputs]
folder = "out"
"""
    )
    with pytest.raises(InputError) as err:
        run_galaxy(config)
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith("GOODS-N: step optical: [optical.images].F606W: ")
    assert "has no sky WCS" in text
    assert not [p for p in (tmp_path / "out").iterdir() if p.name != STATE_DIR]


def test_ds9_calibrators_without_a_running_ds9(tmp_path, write_config):
    config = write_config(m101_toml())
    run_galaxy(config, until="align")
    before = _snapshot(tmp_path / "out")
    text = m101_toml().replace(
        "[calibrators]\nids = [",
        '[calibrators]\nds9 = true\nds9_target = "xrbid-test-nobody-runs-this"\nx = [',
    )
    text = text.replace("\nx = [", "\n# ids = [", 1)
    write_config(text)
    with pytest.raises(DS9Error) as err:
        run_galaxy(config, until="align", confirm=lambda message: None)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("M101: step calibrators: ")
    assert "xrbid-test-nobody-runs-this" in message
    # the hints name the configuration's keys, not options of other commands
    assert not any(word in message for word in ("--target", "--start", "start=True"))
    assert _snapshot(tmp_path / "out") == before


def test_ds9_hints_in_a_configuration_name_its_keys(monkeypatch):
    from xrbid.ds9 import _common, connect, xpa
    from xrbid.pipeline.xray_steps import _in_config_terms

    others = [_common.DS9Target("a", "xpa", "h:1"), _common.DS9Target("b", "xpa", "h:2")]
    monkeypatch.setattr(xpa, "_xpa_other_methods", lambda timeout: [])
    monkeypatch.setattr(xpa, "_ds9_process_titles", lambda: [(123, "other")])
    messages = [
        xpa._xpa_not_found_message("mine", others),  # others answer
        xpa._xpa_not_found_message("mine", []),  # a DS9 of another title runs
        xpa._xpa_not_found_message(None, others),
        _common._START_HINT,
    ]
    with pytest.raises(DS9Error) as err:
        connect._pick(others, None, "XPA")  # two answer, none named
    messages.append(str(err.value))
    for message in messages:
        assert any(w in message for w in ("--target", "--start")), message  # the variants
        text = _in_config_terms(message)
        assert not any(w in text for w in ("--target", "--start", "start=True")), text
    assert "as [calibrators].ds9_target, or start it with `ds9 -title mine &`" in (
        _in_config_terms(messages[0])
    )
    assert "say which one with [calibrators].ds9_target = NAME" in _in_config_terms(messages[-1])


@pytest.mark.ds9
def test_ds9_calibrators_need_a_terminal(tmp_path, write_config, ds9_server):
    """With a DS9 running but no way to wait for the user, the run says what to do."""
    text = m101_toml().replace(
        "[calibrators]\nids = [",
        f'[calibrators]\nds9 = true\nds9_target = "{ds9_server.title}"\nx = [',
    )
    write_config(text.replace("\nx = [", "\n# ids = [", 1))
    with pytest.raises(InputError, match=r"needs an interactive run \(a terminal\)"):
        run_galaxy(tmp_path / "m101.toml", until="calibrators")


def test_images_that_miss_every_xray_source(tmp_path, write_config):
    """Photometry and finder charts on images that hold none of the sources: warnings, no
    empty figures, the rest of the run complete."""
    images = (
        f'[optical.images]\nF606W = "{GOODSN}[1]"\nF814W = "{GOODSN}[2]"\n\n'
        '[photometry]\nradius = "0.12arcsec"\napcorr = "none"\n\n[outputs]'
    )
    config = write_config(m101_toml().replace("[outputs]", images))
    res = run_galaxy(config)
    states = {s.step: s for s in res.steps}
    assert list(states) == [
        "xray", "calibrators", "optical", "align", "radii", "best", "counterparts",
        "photometry", "finders", "report",
    ]  # fmt: skip
    assert states["finders"].summary["charts"] == 0
    assert any("no finder charts: none of the" in w for w in states["finders"].summary["warnings"])
    assert any("no CMD drawn" in w for w in states["photometry"].summary["warnings"])
    out = tmp_path / "out"
    assert not list(out.glob("finder_*")) and not (out / "cmd.png").exists()
    assert (out / "photometry.ecsv").exists() and (out / "report.html").exists()


@pytest.mark.parametrize("name", ["candidates.reg", ".xrbid/optical.reg"])
def test_an_input_that_the_run_writes_is_refused(tmp_path, write_config, name):
    """An input file in the output folder that a step (or the run's state) rewrites."""
    out = tmp_path / "out"
    (out / STATE_DIR).mkdir(parents=True)
    mine = out / name
    mine.write_bytes((OPTICAL / "M101_daoclean_f555w_acs_fk5.reg").read_bytes())
    config = write_config(
        m101_toml().replace(str(OPTICAL / "M101_daoclean_f555w_acs_fk5.reg"), str(mine))
    )
    before = _snapshot(out)
    for call in (plan_galaxy, run_galaxy):
        with pytest.raises(InputError) as err:
            call(config)
        text = str(err.value)
        assert "\n" not in text
        assert f"[optical].sources: {mine} is an output of this run" in text
    assert _snapshot(out) == before


def test_an_input_beside_the_outputs_is_accepted(tmp_path, write_config):
    """Inputs may share the output folder when the run does not write them."""
    mine = tmp_path / "sources.reg"
    mine.write_bytes((OPTICAL / "M101_daoclean_f555w_acs_fk5.reg").read_bytes())
    text = m101_toml(folder=".").replace(
        str(OPTICAL / "M101_daoclean_f555w_acs_fk5.reg"), str(mine)
    )
    plan = plan_galaxy(write_config(text))
    assert [s.state for s in plan] == ["would run"] * len(plan)


def test_calibrator_id_not_in_the_table(tmp_path, write_config):
    ids = ["2CXO J140251.0+542420", "2CXO J000000.0+000000"]
    config = write_config(m101_toml(ids=ids))
    with pytest.raises(InputError) as err:
        run_galaxy(config)
    # one line, naming the key; no option of another command (xrbid run has no --missing)
    assert str(err.value) == (
        "M101: step calibrators: [calibrators].ids: 1 of 2 IDs not in the table: "
        "'2CXO J000000.0+000000'; check the IDs"
    )
    assert not (tmp_path / "out" / "calibrators.ecsv").exists()


def _in_image_coordinates(src, dst):
    """``src`` (a DS9 file of fk5 circles) said in image coordinates, radii in pixels."""
    text = re.sub(r"(?m)^fk5$", "image", src.read_text())
    dst.write_text(re.sub(r', [0-9.]+"\)', ", 5)", text))
    return dst


@pytest.mark.parametrize(
    ("key", "step", "name"),
    [
        ("[optical].sources", "optical", "M101_daoclean_f555w_acs_fk5.reg"),
        ("[alignment].reference", "align", "M101_astrocorrect.reg"),
    ],
)
def test_a_region_file_in_image_coordinates_is_refused_at_its_step(
    tmp_path, write_config, key, step, name
):
    """Regions without sky positions are refused where they are read, not later as rows
    without RA/Dec in the matching of another step."""
    image = _in_image_coordinates(OPTICAL / name, tmp_path / f"image_{name}")
    config = write_config(m101_toml().replace(str(OPTICAL / name), str(image)))
    with pytest.raises(InputError) as err:
        run_galaxy(config)
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith(f"M101: step {step}: {image} (")
    assert key in text
    assert "the region file has no sky coordinates" in text
    assert "row(s) have no valid RA/Dec" not in text


def test_regions_in_image_coordinates_are_left_out_of_an_optical_list(tmp_path, write_config):
    """A source list with some regions in image coordinates: those have no sky position and are
    left out (as the step commands do), the run is the one of the list without them."""
    clean = OPTICAL / "M101_daoclean_f555w_acs_fk5.reg"
    mixed = tmp_path / "mixed.reg"
    mixed.write_text(clean.read_text() + "image\ncircle(100,200,3)\npoint(1,1)\n# a comment\n")
    for source, folder in ((clean, "clean"), (mixed, "mixed")):
        text = m101_toml(folder=folder).replace(str(clean), str(source))
        run_galaxy(write_config(text, f"{folder}.toml"), until="counterparts")
    for table in ("optical_sources.ecsv", "candidates.ecsv"):
        clean_out, mixed_out = tmp_path / "clean" / table, tmp_path / "mixed" / table
        if clean_out.exists():
            assert mixed_out.read_bytes() == clean_out.read_bytes()
    candidates = (tmp_path / "mixed" / "candidates.ecsv").read_text()
    assert candidates.count('\n"2CXO J') > 100
