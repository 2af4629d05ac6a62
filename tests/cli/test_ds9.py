"""``xrbid ds9 ...`` against the real DS9 of the test session (tests/ds9_session.py)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import click
import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from click.testing import CliRunner

from tests.ds9_session import click_frame_centre
from xrbid.cli._common import ANGLE
from xrbid.cli.ds9 import _Zoom
from xrbid.cli.main import cli
from xrbid.ds9 import DS9
from xrbid.regions import write_regions
from xrbid.tables import read_table, write_table

pytestmark = pytest.mark.ds9


@pytest.fixture(scope="module")
def a478(testdata: Path) -> Path:
    return testdata / "hst-wfpc2-abell478" / "a478hst-cutout.fits"


@pytest.fixture(scope="module")
def field(a478: Path) -> pd.DataFrame:
    """Synthetic candidates spread over the Abell 478 image, >10" apart (made by the test)."""
    wcs = WCS(fits.getheader(a478, "SCI"))
    x = np.array([120.0, 220.0, 320.0, 420.0, 500.0])
    y = np.array([150.0, 400.0, 250.0, 480.0, 120.0])
    ra, dec = wcs.pixel_to_world_values(x, y)
    return pd.DataFrame(
        {
            "source_id": [f"TEST J{i:02d}" for i in range(5)],
            "ra": ra,
            "dec": dec,
            "pu_1sigma": [0.5, 0.6, 0.7, 0.8, 0.9],
            "pu_2sigma": [1.1, 1.3, 1.5, 1.7, 1.9],
        }
    )


@pytest.fixture
def session(ds9_server, request) -> DS9:
    transport = getattr(request, "param", "xpa")
    s = DS9(ds9_server.title, transport=transport, timeout=10)
    s.delete_frames()
    s.set("mode region")
    s.set("single")
    s.set("lock frame none")
    s.set("lock crosshair none")
    s.set("wcs align no")
    s.set("colorbar yes")
    s.view_size(600, 600)
    yield s
    s.close()


def run(*args: str, input=None):
    result = CliRunner().invoke(cli, [str(a) for a in args], input=input)
    return result


@pytest.mark.parametrize("session", ["xpa", "samp"], indirect=True)
def test_show_image_with_regions(session, ds9_server, a478, field, tmp_path) -> None:
    reg = write_regions(field, tmp_path / "field.reg", radius=1.0, label_column="source_id")
    result = run(
        "ds9", "show", a478, "--regions", reg, "--target", ds9_server.title,
        "--transport", session.transport,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"({session.transport})" in result.output and "5 regions drawn" in result.output
    assert session.frames() == [1]
    assert sorted(session.regions()["label"]) == sorted(field["source_id"])


def test_no_ds9_is_one_line(ds9_server, a478) -> None:
    result = run("ds9", "show", a478, "--target", "nobody-here", "--transport", "xpa")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "--start" in lines[0]
    # the wrong title is named, with the DS9s that do answer, and no name server is blamed
    assert lines[0].startswith("Error: no DS9 titled 'nobody-here' answers over XPA")
    assert repr(ds9_server.title) in lines[0].split("DS9s that answer: ")[1]
    assert "stale" not in lines[0]


def _mark_kept(session: DS9, field: pd.DataFrame, keep: list[str]) -> None:
    """Select each kept candidate with a click and recolour it red, as a user would."""
    session.edit_mode()
    rows = field.set_index("source_id")
    for sid in keep:
        session.pan_to(rows.loc[sid, "ra"], rows.loc[sid, "dec"])
        click_frame_centre(session)
        session.set("regions color red")


@pytest.mark.parametrize("session", ["xpa", "samp"], indirect=True)
def test_calibrators_draw_then_collect(session, ds9_server, a478, field, tmp_path) -> None:
    table = tmp_path / "candidates.ecsv"
    write_table(field, table)
    common = ["--target", ds9_server.title, "--transport", session.transport]
    result = run("ds9", "calibrators", table, "--image", a478, "--draw-only", "--no-step", *common)
    assert result.exit_code == 0, result.output
    assert "5 candidates drawn" in result.output
    keep = ["TEST J01", "TEST J04"]
    _mark_kept(session, field, keep)
    out = tmp_path / "kept.ecsv"
    result = run("ds9", "calibrators", table, "--collect", "-o", out, *common)
    assert result.exit_code == 0, result.output
    assert "2 of 5 calibrators kept" in result.output
    assert read_table(out)["source_id"].tolist() == keep
    result = run("ds9", "calibrators", table, "--collect", "-o", out, *common)
    assert result.exit_code == 1 and "exists" in result.output


class Keyboard(io.RawIOBase):
    """Typed lines for the command's prompts; ``before[n]`` runs just before line n is read."""

    def __init__(self, lines: list[str], before: dict[int, Callable[[], None]]) -> None:
        self.lines = [line.encode() + b"\n" for line in lines]
        self.before = before
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if not self.lines or len(buffer) == 0:
            return 0
        if self.count in self.before:
            self.before[self.count]()
        line = self.lines.pop(0)
        self.count += 1
        buffer[: len(line)] = line
        return len(line)


@pytest.mark.parametrize("session", ["xpa", "samp"], indirect=True)
def test_calibrators_interactive_steps_then_reads_marks(session, ds9_server, a478, field, tmp_path):
    table = tmp_path / "candidates.ecsv"
    write_table(field, table)
    out = tmp_path / "kept.csv"
    visited: list[tuple[float, float]] = []
    keep = ["TEST J00", "TEST J02", "TEST J03"]

    def note_position() -> None:
        visited.append(session.crosshair_position())

    before = {n: note_position for n in range(5)}  # at each "next" prompt, DS9 is on a candidate
    before[5] = lambda: _mark_kept(session, field, keep)  # the user marks, then presses Enter
    keyboard = Keyboard([""] * 6, before)
    result = run(
        "ds9", "calibrators", table, "--image", a478, "-o", out, "--zoom", "2",
        "--target", ds9_server.title, "--transport", session.transport, input=keyboard,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "3 of 5 calibrators kept" in result.output
    assert read_table(out)["source_id"].tolist() == keep
    got = np.array(visited)
    assert np.allclose(got[:, 0], field["ra"], atol=1e-6)  # the crosshair went to each one
    assert np.allclose(got[:, 1], field["dec"], atol=1e-6)


@pytest.mark.parametrize("session", ["xpa", "samp"], indirect=True)
def test_blink_before_after(session, ds9_server, a478, field, tmp_path) -> None:
    before = write_regions(field, tmp_path / "before.reg", radius=1.0, color="red")
    shifted = field.assign(ra=field["ra"] + 0.5 / 3600, dec=field["dec"] - 0.3 / 3600)
    after = write_regions(shifted, tmp_path / "after.reg", radius=1.0, color="green")
    result = run(
        "ds9", "blink", a478, "--before", before, "--after", after, "--interval", "0.4",
        "--target", ds9_server.title, "--transport", session.transport,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert session.frames() == [1, 2]
    assert session.blink_state() == pytest.approx(0.4)
    assert session.get("lock frame") == "wcs"
    for number, want in ((1, field), (2, shifted)):
        session.frame(number)
        got = session.regions().sort_values("ra")
        assert np.allclose(got["ra"], want.sort_values("ra")["ra"], atol=1e-7)
        assert np.allclose(got["dec"], want.sort_values("ra")["dec"], atol=1e-7)
    session.blink(None)


def shown_header(session: DS9) -> fits.Header:
    """The FITS header of the image in DS9's current frame, as DS9 reports it."""
    return fits.Header.fromstring(session.get("fits header"), sep="\n")


@pytest.mark.parametrize("session", ["xpa", "samp"], indirect=True)
def test_show_one_extension(session, ds9_server, testdata) -> None:
    # SCI,2 of this ACS/WFC FLT has CRVAL1 = 5.67073 (SCI,1: 5.63057; testdata SOURCES.txt)
    flt = testdata / "hst-acs-47tuc-flt-header" / "j94f05bgq_flt.fits"
    result = run(
        "ds9", "show", f"{flt}[SCI,2]", "--target", ds9_server.title,
        "--transport", session.transport, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    # stdout only: the SAMP hub of the test session may log to stderr meanwhile
    assert json.loads(result.stdout)["image"] == f"{flt}[SCI,2]"
    header = shown_header(session)
    assert (header["EXTNAME"], header["EXTVER"]) == ("SCI", 2)
    assert header["CRVAL1"] == pytest.approx(5.67073, abs=1e-5)


@pytest.mark.parametrize("session", ["xpa", "samp"], indirect=True)
def test_blink_one_extension(session, ds9_server, a478, field, tmp_path) -> None:
    regions = write_regions(field, tmp_path / "field.reg", radius=1.0)
    result = run(
        "ds9", "blink", f"{a478}[WHT]", "--before", regions, "--after", regions,
        "--mode", "tile", "--target", ds9_server.title, "--transport", session.transport,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for number in (1, 2):
        session.frame(number)
        assert shown_header(session)["EXTNAME"] == "WHT"
        assert len(session.regions()) == len(field)
    session.tile(False)


@pytest.mark.parametrize("session", ["xpa", "samp"], indirect=True)
def test_stamps(session, ds9_server, a478, field, tmp_path) -> None:
    table = tmp_path / "best.ecsv"
    write_table(field, table)
    out = tmp_path / "stamps"
    args = ["ds9", "stamps", table, "--image", a478, "-o", out, "--size", "6arcsec"]
    args += ["--pixels", "120", "--target", ds9_server.title, "--transport", session.transport]
    result = run(*args)
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"TEST_J{i:02d}.png" for i in range(5)]
    import matplotlib.image as mpimg

    for name, (_, row) in zip(names, field.iterrows()):
        rgb = mpimg.imread(out / name)[..., :3]
        assert rgb.shape[:2] == (120, 120)
        # DS9 drew the 1-sigma circle (green) centred on the stamp, of the source's radius
        green = np.argwhere((rgb[..., 1] > 0.8) & (rgb[..., 0] < 0.3) & (rgb[..., 2] < 0.3))
        assert len(green) > 10
        centre = green.mean(axis=0)
        assert np.all(np.abs(centre - 59.5) < 2)
        scale = 120 / 6.0  # screen pixels per arcsec
        assert abs(np.median(np.hypot(*(green - centre).T)) - row["pu_1sigma"] * scale) < 2
    result = run(*args)
    assert result.exit_code == 1 and "exists" in result.output


@pytest.mark.parametrize("session", ["xpa", "samp"], indirect=True)
def test_show_a_file_named_like_commands(session, ds9_server, a478, tmp_path) -> None:
    """`ds9 show 'x;source PWN.tcl;.fits'` shows that file and runs nothing."""
    marker = tmp_path / "marker"
    (tmp_path / "PWN.tcl").write_text(f"exec touch {{{marker}}}\n", encoding="utf-8")
    before = session.get("cd")
    session.set(f"cd {{{tmp_path}}}")
    try:
        image = tmp_path / "x;source PWN.tcl;frame new;.fits"
        image.write_bytes(a478.read_bytes())
        common = ["--target", ds9_server.title, "--transport", session.transport]
        result = run("ds9", "show", image, *common)
        assert result.exit_code == 0, result.output
        assert session.frames() == [1]
        assert session.image_file().startswith(str(image))
        refused = tmp_path / "m101{x}.fits"
        refused.write_bytes(a478.read_bytes())
        result = run("ds9", "show", refused, *common)
        assert result.exit_code == 1
        assert result.output.startswith("Error: ") and "character '{'" in result.output
        assert len(result.output.strip().splitlines()) == 1
        assert session.frames() == [1]
    finally:
        session.set(f"cd {{{before}}}")
    assert not marker.exists()


@pytest.mark.parametrize("transport", ["xpa", "samp"])
def test_show_start_uses_the_first_frame(ds9_server, a478, transport) -> None:
    """A DS9 started by `show --start` shows the image in its frame 1, and says so."""
    title = f"xrbid-started-{transport}"
    result = run("ds9", "show", a478, "--start", "--target", title, "--transport", transport)
    try:
        assert result.exit_code == 0, result.output
        assert "in frame 1 (current frame)" in result.output
        with DS9(title, transport=transport, timeout=10) as started:
            assert started.frames() == [1]
            assert started.image_file().startswith(str(a478))
    finally:
        with DS9(title, transport=transport, timeout=10) as started:
            started.close(quit=True)


@pytest.mark.parametrize("session", ["xpa", "samp"], indirect=True)
def test_show_reuses_the_current_frame_unless_new_frame(session, ds9_server, a478) -> None:
    common = ["--target", ds9_server.title, "--transport", session.transport]
    first = run("ds9", "show", a478, *common)
    assert "in frame 1 (new frame)" in first.output  # no frame at all: one is made
    again = run("ds9", "show", a478, *common)
    assert "in frame 1 (current frame)" in again.output
    assert session.frames() == [1]
    new = run("ds9", "show", a478, "--new-frame", *common)
    assert "in frame 2 (new frame)" in new.output
    assert session.frames() == [1, 2]


@pytest.mark.parametrize("session", ["xpa", "samp"], indirect=True)
def test_show_scale_options(session, ds9_server, a478) -> None:
    common = ["--target", ds9_server.title, "--transport", session.transport]
    assert run("ds9", "show", a478, *common).exit_code == 0
    assert session.get("scale") == "log" and float(session.get("scale mode")) == 99.5
    assert run("ds9", "show", a478, "--scale", "zscale", *common).exit_code == 0
    assert session.get("scale mode") == "zscale"
    result = run("ds9", "show", a478, "--scale", "asinh", "--limits", "0", "2", *common)
    assert result.exit_code == 0, result.output
    assert session.get("scale") == "asinh"
    assert [float(v) for v in session.get("scale limits").split()] == [0.0, 2.0]
    bad = run("ds9", "show", a478, "--scale", "zscale", "--limits", "0", "2", *common)
    assert bad.exit_code == 1 and "zscale chooses its own limits" in bad.output
    assert session.get("scale") == "asinh"  # refused before DS9 was touched


@pytest.mark.parametrize("session", ["xpa", "samp"], indirect=True)
def test_blink_stop_and_modes(session, ds9_server, a478, field, tmp_path) -> None:
    before = write_regions(field, tmp_path / "before.reg", radius=1.0)
    after = write_regions(field, tmp_path / "after.reg", radius=1.0)
    common = ["--target", ds9_server.title, "--transport", session.transport]
    result = run("ds9", "blink", a478, "--before", before, "--after", after, *common)
    assert result.exit_code == 0 and "stop: xrbid ds9 blink --stop" in result.output
    assert session.blink_state() == pytest.approx(0.5)
    result = run("ds9", "blink", "--stop", *common)
    assert result.exit_code == 0, result.output
    assert "blinking stopped" in result.output
    assert session.blink_state() is None
    session.delete_frames()
    result = run(
        "ds9", "blink", a478, "--before", before, "--after", after, "--mode", "tile", *common
    )
    assert result.exit_code == 0 and "side by side" in result.output
    assert session.tile_state() == "column" and session.blink_state() is None
    assert run("ds9", "blink", "--stop", *common).exit_code == 0
    assert session.tile_state() is None
    missing = run("ds9", "blink", a478, *common)
    assert missing.exit_code == 2 and "--before" in missing.output


@pytest.mark.parametrize("session", ["xpa", "samp"], indirect=True)
def test_calibrators_nothing_marked_writes_nothing(session, ds9_server, a478, field, tmp_path):
    table = tmp_path / "candidates.ecsv"
    write_table(field, table)
    ids = tmp_path / "ids.txt"
    ids.write_text("TEST J01\n# a comment\nTEST J03\n")
    common = ["--target", ds9_server.title, "--transport", session.transport]
    result = run(
        "ds9", "calibrators", table, "--image", a478, "--ids-file", ids, "--draw-only",
        "--no-step", *common,
    )  # fmt: skip
    assert result.exit_code == 0 and "2 candidates drawn" in result.output
    out = tmp_path / "kept.ecsv"
    result = run("ds9", "calibrators", table, "--collect", "-o", out, "--ids-file", ids, *common)
    assert result.exit_code == 1
    line = result.output.strip()
    assert line.startswith("Error: none of the 2 candidates is marked as kept in DS9")
    assert "nothing written" in line and len(line.splitlines()) == 1
    assert not out.exists()
    # the same --id convention as csc select
    result = run(
        "ds9", "calibrators", table, "--image", a478, "--id", "TEST J00", "--id", "TEST J04",
        "--draw-only", "--no-step", *common,
    )  # fmt: skip
    assert result.exit_code == 0 and "2 candidates drawn" in result.output
    assert sorted(session.regions()["label"]) == ["TEST J00", "TEST J04"]
    both = run("ds9", "calibrators", table, "--collect", "-o", out, "--id", "X", "--ids-file", ids)
    assert both.exit_code == 1 and "not both" in both.output


@pytest.mark.parametrize("session", ["xpa", "samp"], indirect=True)
def test_stamps_list_the_skipped(session, ds9_server, a478, field, tmp_path) -> None:
    off = field.head(2).assign(source_id=["FAR 1", "FAR 2"], ra=[210.80227, np.nan])
    table = tmp_path / "best.ecsv"
    write_table(pd.concat([field.head(2), off], ignore_index=True), table)
    out = tmp_path / "stamps"
    result = run(
        "ds9", "stamps", table, "--image", a478, "-o", out, "--size", "6arcsec", "--pixels",
        "100", "--target", ds9_server.title, "--transport", session.transport,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0] == f"2 stamps -> {out} (scale bar 1 arcsec); 2 skipped:"
    assert lines[1].startswith("  FAR 1: off the image by ") and lines[1].endswith(" deg")
    assert lines[2] == "  FAR 2: no finite RA/Dec"
    assert sorted(p.name for p in out.iterdir()) == ["TEST_J00.png", "TEST_J01.png"]


def test_every_numeric_option_says_its_unit() -> None:
    """Each number a DS9 command takes names its unit in the help; calib wcs --fwhm takes an
    angle (or pixels) exactly as phot detect --fwhm does."""
    from xrbid.cli.calib import calib
    from xrbid.cli.ds9 import ds9 as group
    from xrbid.cli.phot import phot

    units = ("arcsec", "angle", "seconds", "pixels", "image's units", "Seconds")
    for name, command in group.commands.items():
        for param in command.params:
            kind = param.type
            numeric = isinstance(kind, click.types._NumberParamTypeBase | type(ANGLE) | _Zoom)
            numeric = numeric or (isinstance(kind, click.Tuple) and param.name == "limits")
            if numeric:
                assert any(u in (param.help or "") for u in units), (name, param.name)
    wcs_fwhm = next(p for p in calib.commands["wcs"].params if p.name == "fwhm")
    detect_fwhm = next(p for p in phot.commands["detect"].params if p.name == "fwhm")
    assert type(wcs_fwhm.type) is type(detect_fwhm.type)
    assert wcs_fwhm.type.convert("0.25arcsec", None, None).to_value("arcsec") == 0.25
    assert wcs_fwhm.type.convert("2", None, None).to_value("pix") == 2.0
