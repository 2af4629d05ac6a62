"""The DS9 session against a real SAOImage DS9 under Xvfb, over XPA and over SAMP.

Every behaviour test runs once per transport (the ``ds9`` fixture is parametrised). Results are
checked by reading DS9's state back and by looking at the pixels of DS9's own snapshots;
expected positions come from astropy's WCS of the image, independently of DS9.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS

from tests.ds9_session import (
    click_frame_centre,
    free_port_pair,
    start_ds9,
    stop_process,
    wait_until,
)
from xrbid.ds9 import (
    CALIBRATOR_TAG,
    DS9,
    draw_calibrators,
    find_ds9,
    picked_calibrators,
    postage_stamps,
    step_through,
)
from xrbid.errors import DS9Error, InputError, OutputExistsError, XrbidError
from xrbid.regions import read_regions

pytestmark = pytest.mark.ds9

PIXEL = 0.1  # arcsec per pixel of the WFPC2 drizzled image (header CD matrix)


@pytest.fixture(scope="module")
def a478(testdata: Path) -> Path:
    return testdata / "hst-wfpc2-abell478" / "a478hst-cutout.fits"


@pytest.fixture(scope="module")
def a478_wcs(a478: Path) -> WCS:
    return WCS(fits.getheader(a478, "SCI"))


def sky_at(wcs: WCS, x, y) -> tuple[np.ndarray, np.ndarray]:
    """RA/Dec (deg) of 0-based pixel positions, by astropy."""
    ra, dec = wcs.pixel_to_world_values(np.asarray(x, float), np.asarray(y, float))
    return np.atleast_1d(ra), np.atleast_1d(dec)


def candidates(wcs: WCS, n: int = 6, seed: int = 7) -> pd.DataFrame:
    """Synthetic candidate positions (test-made, seeded): a 3x3 grid over the image with
    jitter, so that any two are more than 10 arcsec apart and a click hits only one."""
    rng = np.random.default_rng(seed)
    gx, gy = np.meshgrid([130.0, 300.0, 470.0], [130.0, 300.0, 470.0])
    order = rng.permutation(9)[:n]
    x = gx.ravel()[order] + rng.uniform(-20, 20, n)
    y = gy.ravel()[order] + rng.uniform(-20, 20, n)
    ra, dec = sky_at(wcs, x, y)
    ids = [f"CAND J{i:02d}+{int(v * 1000) % 1000:03d}" for i, v in enumerate(x)]
    return pd.DataFrame({"source_id": ids, "ra": ra, "dec": dec})


def sep_arcsec(ra1, dec1, ra2, dec2) -> np.ndarray:
    a = SkyCoord(np.atleast_1d(ra1) * u.deg, np.atleast_1d(dec1) * u.deg, frame="icrs")
    b = SkyCoord(np.atleast_1d(ra2) * u.deg, np.atleast_1d(dec2) * u.deg, frame="icrs")
    return a.separation(b).to_value(u.arcsec)


def red_pixels(png: Path) -> np.ndarray:
    """(row, col) of the pure-red pixels of a PNG (DS9 draws the grey image and red regions)."""
    import matplotlib.image as mpimg

    rgb = mpimg.imread(png)[..., :3]
    mask = (rgb[..., 0] > 0.8) & (rgb[..., 1] < 0.25) & (rgb[..., 2] < 0.25)
    return np.argwhere(mask)


# --------------------------------------------------------------------------------------------
# behaviour, on both transports
# --------------------------------------------------------------------------------------------


def test_open_image_new_and_current_frames(ds9: DS9, a478: Path) -> None:
    assert ds9.frames() == []
    assert ds9.open_image(a478) == 1
    assert ds9.image_file().startswith(str(a478.resolve()))
    assert ds9.open_image(a478, frame="new") == 2
    assert ds9.frames() == [1, 2]
    assert ds9.open_image(a478, frame="current") == 2
    assert ds9.frames() == [1, 2]
    assert ds9.has_celestial_wcs()


def test_regions_fk5_round_trip_within_10_mas(ds9: DS9, a478: Path, a478_wcs: WCS) -> None:
    table = candidates(a478_wcs, n=8)
    table["pu_2sigma"] = np.linspace(0.4, 3.1, len(table))
    ds9.open_image(a478)
    ds9.load_regions(table, radius_column="pu_2sigma", label_column="source_id")
    back = ds9.regions("fk5")
    assert len(back) == len(table)
    back = back.set_index("label").loc[table["source_id"]]
    sep = sep_arcsec(back["ra"], back["dec"], table["ra"], table["dec"])
    assert sep.max() < 0.01
    assert np.allclose(back["radius"].to_numpy(), table["pu_2sigma"].to_numpy(), atol=0.001)


def test_region_lands_on_the_right_screen_pixel(ds9: DS9, a478: Path, a478_wcs, tmp_path) -> None:
    """A red circle drawn at a sky position shows up where astropy's WCS puts it."""
    ds9.open_image(a478)
    ds9.set("colorbar no")
    ra, dec = sky_at(a478_wcs, 350.0, 240.0)
    ds9.load_regions(f'fk5\ncircle({ra[0]:.10f},{dec[0]:.10f},1.5") # color=red width=2\n')
    pan_ra, pan_dec = sky_at(a478_wcs, 300.0, 300.0)
    ds9.pan_to(pan_ra[0], pan_dec[0])
    zoom = 2.0
    ds9.zoom(zoom)
    png = ds9.snapshot(tmp_path / "one.png")
    import matplotlib.image as mpimg

    height, width = mpimg.imread(png).shape[:2]
    rows_cols = red_pixels(png)
    assert len(rows_cols) > 50
    centre_row, centre_col = rows_cols.mean(axis=0)
    # expected: the frame centre is the pan position; image x right, image y up on screen
    want_col = (width - 1) / 2 + (350.0 - 300.0) * zoom
    want_row = (height - 1) / 2 - (240.0 - 300.0) * zoom
    assert abs(centre_col - want_col) < 2.0
    assert abs(centre_row - want_row) < 2.0
    # ring radius: 1.5" = 15 image pixels = 30 screen pixels at zoom 2
    radii = np.hypot(rows_cols[:, 0] - centre_row, rows_cols[:, 1] - centre_col)
    assert abs(np.median(radii) - 1.5 / PIXEL * zoom) < 2.0


def test_pan_and_crosshair_go_where_asked(ds9: DS9, a478: Path, a478_wcs) -> None:
    ds9.open_image(a478)
    ra, dec = sky_at(a478_wcs, [123.0, 432.5], [456.0, 87.25])
    ds9.pan_to(ra[0], dec[0])
    got = ds9.pan_position()
    assert sep_arcsec(got[0], got[1], ra[0], dec[0])[0] < 0.01
    assert ds9.crosshair_position() is None  # not in crosshair mode yet
    ds9.crosshair(ra[1], dec[1])
    got = ds9.crosshair_position()
    assert got is not None
    assert sep_arcsec(got[0], got[1], ra[1], dec[1])[0] < 0.01


def test_zoom_levels(ds9: DS9, a478: Path) -> None:
    ds9.open_image(a478)
    ds9.zoom(4)
    assert ds9.zoom_level() == 4.0
    ds9.zoom("fit")
    assert 0 < ds9.zoom_level() < 1.0  # a 600-pixel image fits a 600-pixel window below zoom 1
    with pytest.raises(InputError):
        ds9.zoom(-1)


def test_tile_blink_and_frames(ds9: DS9, a478: Path) -> None:
    ds9.open_image(a478)
    ds9.open_image(a478)
    ds9.tile("column")
    assert ds9.tile_state() == "column"
    ds9.tile(False)
    assert ds9.tile_state() is None
    ds9.blink(0.3)
    assert ds9.blink_state() == pytest.approx(0.3)
    ds9.blink(None)
    assert ds9.blink_state() is None
    ds9.frame(1)
    assert ds9.current_frame() == 1


def test_match_frames_on_wcs(ds9: DS9, a478: Path, a478_wcs) -> None:
    ds9.open_image(a478)
    ds9.open_image(a478)
    ra, dec = sky_at(a478_wcs, 200.0, 410.0)
    ds9.pan_to(ra[0], dec[0])
    ds9.match_frames("wcs")
    ds9.frame(1)
    got = ds9.pan_position()
    assert sep_arcsec(got[0], got[1], ra[0], dec[0])[0] < 0.05


def test_scale(ds9: DS9, a478: Path) -> None:
    ds9.open_image(a478)
    ds9.scale("log", "zscale")
    assert ds9.get("scale") == "log"
    assert ds9.get("scale mode") == "zscale"
    ds9.scale("sqrt", 99.5)
    assert ds9.get("scale") == "sqrt"
    assert float(ds9.get("scale mode")) == 99.5


def test_snapshot_is_a_png_and_never_overwrites(ds9: DS9, a478: Path, tmp_path: Path) -> None:
    ds9.open_image(a478)
    png = ds9.snapshot(tmp_path / "view.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(OutputExistsError):
        ds9.snapshot(png)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["view.png"]  # no temporary left


def test_selection_and_user_edits_are_read_back(ds9: DS9, a478: Path, a478_wcs) -> None:
    """What the user clicks, drags, draws and deletes in DS9 is what regions() returns."""
    table = candidates(a478_wcs, n=3)
    ds9.open_image(a478)
    ds9.load_regions(table, radius=2.0, label_column="source_id")
    ds9.zoom(2)
    ds9.pan_to(table["ra"][1], table["dec"][1])
    click_frame_centre(ds9)
    selected = ds9.selected_regions()
    assert selected["label"].tolist() == [table["source_id"][1]]
    ds9.set("regions delete select")  # Region > Delete
    assert sorted(ds9.regions()["label"]) == sorted(table["source_id"][[0, 2]])
    # dragging a region moves it: 40 screen pixels right, 20 up = +20, +10 image pixels at zoom 2
    ds9.pan_to(table["ra"][0], table["dec"][0])
    click_frame_centre(ds9, drag=(40, -20))
    moved = ds9.regions().set_index("label").loc[table["source_id"][0]]
    x0, y0 = a478_wcs.world_to_pixel_values(table["ra"][0], table["dec"][0])
    want_ra, want_dec = sky_at(a478_wcs, x0 + 20.0, y0 + 10.0)
    assert sep_arcsec(moved["ra"], moved["dec"], want_ra, want_dec)[0] < PIXEL
    # with nothing selected (Region > Select None), a click on empty sky draws a new circle
    ds9.set("regions select none")
    ra, dec = sky_at(a478_wcs, 560.0, 40.0)
    ds9.pan_to(ra[0], dec[0])
    click_frame_centre(ds9)
    now = ds9.regions()
    assert len(now) == 3
    new = now[now["label"].isna() | (now["label"] == "")]
    assert len(new) == 1
    assert sep_arcsec(new["ra"], new["dec"], ra, dec)[0] < 2 * PIXEL


def test_labels_cannot_inject_commands(ds9: DS9, a478: Path, a478_wcs) -> None:
    ra, dec = sky_at(a478_wcs, [200.0, 300.0], [200.0, 300.0])
    evil = pd.DataFrame(
        {"source_id": ["X-1} # text={y}\nfk5; circle(1,1,1)", "X-2; exit"], "ra": ra, "dec": dec}
    )
    ds9.open_image(a478)
    with pytest.raises(InputError):
        ds9.load_regions(evil, radius=1.0, label_column="source_id")
    assert len(ds9.regions()) == 0  # nothing reached DS9
    ds9.load_regions(evil, radius=1.0, label_column="source_id", on_bad_label="replace")
    back = ds9.regions()
    assert len(back) == 2
    assert back["label"].tolist() == ["X-1) _ text=(y) fk5_ circle(1,1,1)", "X-2_ exit"]
    # raw region text is data for DS9's region parser, never a command
    with pytest.raises(DS9Error, match="rejected"):
        ds9.load_regions("fk5\nexit\n")
    assert ds9.frames() == [1]  # DS9 still there


# names that would run DS9 commands or Tcl if a path reached DS9 unquoted: each must load as
# one file name, with no extra frame, no file written and no Tcl run
HOSTILE_NAMES = [
    "x;source PWN.tcl;.fits",
    "m101;saveimage png out.png;.fits",
    "m101;frame new;frame new;.fits",
    "two words $HOME #hash 'quoted';frame new.fits",
]
# characters no quoting carries through XPA, DS9's Tcl list parsing and its lexers: refused
REFUSED_NAMES = [
    ("br{ace}.fits", "{"),
    ("close}brace.fits", "}"),
    ('dq";frame new;".fits', '"'),
    ("m101[source PWN.tcl].fits", "["),
    ("sq]bracket.fits", "]"),
    ("new\nline;frame new.fits", "\n"),
    ("back\\slash.fits", "\\"),
]


@pytest.fixture
def hostile_cwd(ds9: DS9, tmp_path: Path):
    """DS9's working folder set to ``tmp_path``, holding a PWN.tcl that touches ``marker`` when
    sourced: an injected ``source PWN.tcl`` or ``saveimage png out.png`` would act there."""
    marker = tmp_path / "marker"
    (tmp_path / "PWN.tcl").write_text(f"exec touch {{{marker}}}\n", encoding="utf-8")
    before = ds9.get("cd")
    ds9.set(f"cd {{{tmp_path}}}")
    ds9._load_window_format()  # so that an injected saveimage png would really write
    yield tmp_path
    ds9.set(f"cd {{{before}}}")


def _no_side_effect(folder: Path, expected: set[str]) -> None:
    assert not (folder / "marker").exists()
    assert not (folder / "out.png").exists()
    assert {p.name for p in folder.iterdir()} == expected


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_image_paths_are_one_word(ds9: DS9, a478: Path, hostile_cwd: Path, name: str) -> None:
    image = hostile_cwd / name
    image.write_bytes(a478.read_bytes())
    assert ds9.open_image(image) == 1
    assert ds9.frames() == [1]
    assert ds9.image_file().startswith(str(image))  # DS9 loaded that very file
    snap = ds9.snapshot(hostile_cwd / f"{name}.png")  # an output path with the same words
    assert snap.read_bytes()[:4] == b"\x89PNG"
    assert ds9.frames() == [1]
    _no_side_effect(hostile_cwd, {"PWN.tcl", name, f"{name}.png"})


def test_the_injection_probe_would_see_a_sourced_script(ds9: DS9, hostile_cwd: Path) -> None:
    """The PWN.tcl probe of the tests above does fire when DS9 is told to source it."""
    ds9.set("source PWN.tcl")
    assert (hostile_cwd / "marker").exists()


@pytest.mark.parametrize(("name", "char"), REFUSED_NAMES)
def test_image_paths_ds9_cannot_quote_are_refused(
    ds9: DS9, a478: Path, hostile_cwd: Path, name: str, char: str
) -> None:
    image = hostile_cwd / name
    image.write_bytes(a478.read_bytes())
    with pytest.raises(InputError) as err:
        ds9.open_image(image)
    message = str(err.value)
    assert "\n" not in message
    assert f"character {char!r}" in message
    assert ds9.frames() == []  # DS9 untouched
    _no_side_effect(hostile_cwd, {"PWN.tcl", name})


def test_non_ascii_image_path(ds9: DS9, a478: Path, hostile_cwd: Path) -> None:
    """XPA loads a file named with characters beyond ASCII; over SAMP, where DS9 8.4 stops
    answering for good on such a message, it is refused naming the character, and DS9 is
    untouched and still answers."""
    name = "ü ñ;frame new.fits"
    image = hostile_cwd / name
    image.write_bytes(a478.read_bytes())
    if ds9.transport == "xpa":
        assert ds9.open_image(image) == 1
        assert ds9.image_file().startswith(str(image))
        assert ds9.frames() == [1]
    else:
        with pytest.raises(InputError) as err:
            ds9.open_image(image)
        message = str(err.value)
        assert "\n" not in message and "character 'ü'" in message and "--transport xpa" in message
        assert ds9.frames() == []  # DS9 untouched, and still answering
    _no_side_effect(hostile_cwd, {"PWN.tcl", name})


def test_stamp_folder_is_one_word(ds9: DS9, a478: Path, a478_wcs, hostile_cwd: Path) -> None:
    table = candidates(a478_wcs, n=2, seed=3)
    table["pu_1sigma"] = [0.6, 1.0]
    table["pu_2sigma"] = [1.3, 2.2]
    out = hostile_cwd / "st;frame new;x"
    paths = postage_stamps(ds9, table, a478, out, size=8.0, pixels=120)
    assert [p.parent for p in paths] == [out, out]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths)
    assert ds9.frames() == [1]
    _no_side_effect(hostile_cwd, {"PWN.tcl", out.name})
    with pytest.raises(InputError, match=r"character '\{'"):
        postage_stamps(ds9, table, a478, hostile_cwd / "st{x}", size=8.0, pixels=120)
    assert ds9.frames() == [1]


@pytest.mark.parametrize("mark", ["color", "selected", "delete"])
def test_calibrator_pick_back_returns_exactly_the_marked(
    ds9: DS9, a478: Path, a478_wcs, mark: str
) -> None:
    table = candidates(a478_wcs, n=6, seed=11)
    ds9.open_image(a478)
    draw_calibrators(ds9, table, radius=2.0)
    visited = [row["source_id"] for _, row in step_through(ds9, table, zoom=2)]
    assert visited == table["source_id"].tolist()
    assert ds9.crosshair_position() is None  # back in region mode for the user's clicks
    keep = table["source_id"][[0, 3, 4]].tolist()
    reject = [i for i in table["source_id"] if i not in keep]
    rows = table.set_index("source_id")
    if mark == "color":  # select each kept one, Region > Color > red
        for sid in keep:
            ds9.pan_to(rows.loc[sid, "ra"], rows.loc[sid, "dec"])
            click_frame_centre(ds9)
            ds9.set("regions color red")
    elif mark == "selected":  # click the first, shift-click the others
        for n, sid in enumerate(keep):
            ds9.pan_to(rows.loc[sid, "ra"], rows.loc[sid, "dec"])
            click_frame_centre(ds9, shift=n > 0)
    else:  # select each rejected one, Region > Delete
        for sid in reject:
            ds9.pan_to(rows.loc[sid, "ra"], rows.loc[sid, "dec"])
            click_frame_centre(ds9)
            ds9.set("regions delete select")
    picked = picked_calibrators(ds9, table, mark=mark)
    assert picked["source_id"].tolist() == keep
    assert sep_arcsec(picked["ds9_ra"], picked["ds9_dec"], picked["ra"], picked["dec"]).max() < 0.01
    tags = ds9.regions()["tag"].dropna().unique().tolist()
    assert tags == [CALIBRATOR_TAG]


def test_candidates_off_the_image(ds9: DS9, a478: Path, a478_wcs, m101_vot: Path) -> None:
    from xrbid.tables import read_table, unique_sources

    ds9.open_image(a478)
    m101 = unique_sources(read_table(m101_vot)).head(20)  # M101 is not in the Abell 478 field
    with pytest.raises(InputError, match="none of the 20 candidates falls on the image"):
        draw_calibrators(ds9, m101)
    mixed = pd.concat([m101.head(3)[["source_id", "ra", "dec"]], candidates(a478_wcs, n=2)])
    drawn = draw_calibrators(ds9, mixed.reset_index(drop=True))
    assert drawn["source_id"].tolist() == mixed["source_id"].tolist()[3:]
    assert sorted(ds9.regions()["label"]) == sorted(drawn["source_id"])


def test_postage_stamps_show_both_circles(ds9: DS9, a478: Path, a478_wcs, tmp_path) -> None:
    table = candidates(a478_wcs, n=2, seed=3)
    table["pu_1sigma"] = [0.6, 1.0]
    table["pu_2sigma"] = [1.3, 2.2]
    paths = postage_stamps(ds9, table, a478, tmp_path / "stamps", size=8.0, pixels=200)
    assert [p.name for p in paths] == [f"{i.replace(' ', '_')}.png" for i in table["source_id"]]
    import matplotlib.image as mpimg

    for path, (_, row) in zip(paths, table.iterrows()):
        rgb = mpimg.imread(path)[..., :3]
        assert rgb.shape[:2] == (200, 200)
        green = np.argwhere((rgb[..., 1] > 0.8) & (rgb[..., 0] < 0.3) & (rgb[..., 2] < 0.3))
        magenta = np.argwhere((rgb[..., 0] > 0.8) & (rgb[..., 2] > 0.8) & (rgb[..., 1] < 0.3))
        scale = 200 / 8.0  # screen pixels per arcsec
        assert len(green) > 20 and len(magenta) > 20
        centre = green.mean(axis=0)  # the 1-sigma circle (unlabelled) is centred on the source
        assert np.all(np.abs(centre - 99.5) < 2)
        r1 = np.hypot(*(green - centre).T)
        assert abs(np.median(r1) - row["pu_1sigma"] * scale) < 2
        r2 = np.hypot(*(magenta - centre).T)
        r2 = r2[r2 < 1.5 * row["pu_2sigma"] * scale]  # the dashed ring, without its label
        assert abs(np.median(r2) - row["pu_2sigma"] * scale) < 2
    with pytest.raises(InputError, match="exists"):
        postage_stamps(ds9, table, a478, tmp_path / "stamps")


# --------------------------------------------------------------------------------------------
# faults
# --------------------------------------------------------------------------------------------


@pytest.fixture
def spare_ds9(ds9_server):
    """Start extra DS9s for a test; stops them (by pid) afterwards."""
    started: list[subprocess.Popen] = []

    def start(title: str, env=None, wait_xpa: bool = True, args: tuple[str, ...] = ()):
        process = start_ds9(title, args=args, env=env, wait_xpa=wait_xpa)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:  # a clean exit, so that DS9 leaves the SAMP hub
            os.kill(process.pid, signal.SIGCONT)
            try:
                said = subprocess.run(
                    ["xpaset", "-p", process.args[2], "exit"], timeout=2, check=False
                )
                if said.returncode == 0:
                    process.wait(5)
            except subprocess.TimeoutExpired:
                pass
        stop_process(process)


def test_not_running_says_how_to_start(ds9_server) -> None:
    with pytest.raises(DS9Error) as err:
        DS9("no-such-ds9", transport="xpa", timeout=5)
    message = str(err.value)
    assert "--start" in message and "ds9 &" in message
    assert "\n" not in message


def test_ds9_not_installed(ds9_server, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DS9Error, match=r"not installed.*apt install saods9"):
        DS9("not-installed", transport="xpa", start=True, timeout=5)


def test_start_without_a_display_says_so(ds9_server, monkeypatch) -> None:
    monkeypatch.delenv("DISPLAY")
    with pytest.raises(DS9Error, match=r"exited at start-up.*DISPLAY"):
        DS9("xrbid-no-display", transport="xpa", start=True, timeout=5)


def test_start_launches_and_waits(ds9_server) -> None:
    session = DS9("xrbid-started", transport="xpa", start=True, timeout=10)
    try:
        assert session.process is not None
        assert session.target.name == "xrbid-started"
        assert session.frames() == [1]  # DS9 starts with one empty frame
        assert session.image_file() == ""
    finally:
        session.close(quit=True)
    assert session.process.wait(10) is not None


def test_auto_falls_back_to_samp(ds9_server, spare_ds9) -> None:
    spare_ds9("xrbid-samp-only", wait_xpa=False, args=("-xpa", "no"))
    wait_until(
        lambda: "xrbid-samp-only" in [t.name for t in find_ds9("samp", timeout=5)],
        30,
        "the SAMP-only DS9 on the hub",
    )
    with DS9("xrbid-samp-only", timeout=5) as session:
        assert session.transport == "samp"
        assert session.frames() == [1]
    with DS9(ds9_server.title, timeout=5) as session:
        assert session.transport == "xpa"  # XPA first when both answer


def test_xpa_method_mismatch_is_named(ds9_server, spare_ds9) -> None:
    env = dict(os.environ, XPA_METHOD="local")
    spare_ds9("xrbid-local", env=env, wait_xpa=False, args=("-samp", "no"))
    wait_until(
        lambda: (
            "xrbid-local"
            in subprocess.run(
                ["xpaaccess", "-m", "local", "-v", "DS9:*"], capture_output=True, text=True
            ).stdout
        ),
        30,
        "DS9 over XPA_METHOD=local",
    )
    with pytest.raises(DS9Error, match=r"XPA_METHOD mismatch.*XPA_METHOD=local"):
        DS9("xrbid-local", transport="xpa", timeout=5)


def test_stale_name_server_is_named(ds9_server, tmp_path) -> None:
    """An XPA name server that accepts connections but never answers (hung xpans)."""
    import socket

    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(8)
    port = hung.getsockname()[1]
    script = textwrap.dedent(
        """
        from xrbid.ds9 import DS9
        from xrbid.errors import DS9Error
        try:
            DS9(transport="xpa", timeout=2)
        except DS9Error as exc:
            print(exc)
        """
    )
    env = dict(os.environ, XPA_NSINET=f"127.0.0.1:{port}", XPA_METHOD="inet")
    t0 = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    hung.close()
    assert "name server" in out.stdout and "stale" in out.stdout, out.stdout + out.stderr
    assert time.monotonic() - t0 < 30


def test_wrong_title_lists_the_answering_ds9s(ds9_server) -> None:
    """A title nobody runs, while the session DS9 answers: no blame on the name server."""
    with pytest.raises(DS9Error) as err:
        DS9("nobody-here", transport="xpa", timeout=5)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("no DS9 titled 'nobody-here' answers over XPA")
    assert repr(ds9_server.title) in message.split("DS9s that answer: ")[1]
    assert "stale" not in message and "XPA_METHOD" not in message


def test_wrong_title_when_no_ds9_answers_over_xpa(ds9_server, tmp_path) -> None:
    """An empty name server of its own (a fresh xpans) while the session DS9 runs: asked for
    another title, the message says that title is not running and names the running one; asked
    for the running one's title, it blames the name server."""
    import socket

    port = free_port_pair()
    xpans = subprocess.Popen(
        ["xpans", "-p", str(port), "-l", str(tmp_path / "xpans.log")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    script = textwrap.dedent(
        """
        import sys
        from xrbid.ds9 import DS9
        from xrbid.errors import DS9Error
        try:
            DS9(sys.argv[1], transport="xpa", timeout=5)
        except DS9Error as exc:
            print(exc)
        """
    )
    env = dict(os.environ, XPA_NSINET=f"127.0.0.1:{port}", XPA_METHOD="inet")

    def listening(port: int) -> bool:
        with socket.socket() as client:
            return client.connect_ex(("127.0.0.1", port)) == 0

    def message(title: str) -> str:
        out = subprocess.run(
            [sys.executable, "-c", script, title],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        return out.stdout.strip() + out.stderr

    try:
        wait_until(lambda: listening(port) or xpans.poll() is not None, 10, "xpans")
        assert xpans.poll() is None
        other = message("nobody-here")
        mine = message(ds9_server.title)
    finally:
        stop_process(xpans)
    assert "\n" not in other
    assert other.startswith("no DS9 titled 'nobody-here' is running"), other
    assert f"{ds9_server.title!r} (pid {ds9_server.process.pid})" in other, other
    assert "ds9 -title nobody-here &" in other
    assert "registered" not in other
    assert mine.startswith(f"no DS9 titled {ds9_server.title!r} is registered"), mine
    assert "name server is stale" in mine and f"pid {ds9_server.process.pid}" in mine


def test_no_samp_hub(ds9_server, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("SAMP_HUB", f"std-lockurl:{(tmp_path / 'nohub.lock').as_uri()}")
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(DS9Error, match="no SAMP hub is running"):
        DS9(transport="samp", timeout=5)


@pytest.mark.parametrize("transport", ["xpa", "samp"])
def test_two_ds9s_ask_for_a_name(ds9_server, spare_ds9, transport) -> None:
    spare_ds9("xrbid-second", args=("-samp", "no") if transport == "xpa" else ())
    if transport == "samp":
        wait_until(
            lambda: "xrbid-second" in [t.name for t in find_ds9("samp", timeout=5)],
            30,
            "the second DS9 on the SAMP hub",
        )
    with pytest.raises(DS9Error) as err:
        DS9(transport=transport, timeout=5)
    message = str(err.value)
    assert ds9_server.title in message and "xrbid-second" in message
    assert "--target" in message


def test_pan_on_image_without_wcs(ds9: DS9, a478: Path, tmp_path: Path) -> None:
    plain = tmp_path / "no_wcs.fits"
    fits.PrimaryHDU(fits.getdata(a478, "SCI")).writeto(plain)
    ds9.open_image(plain)
    assert not ds9.has_celestial_wcs()
    with pytest.raises(DS9Error, match="no celestial WCS"):
        ds9.pan_to(63.35, 10.46)
    with pytest.raises(DS9Error, match="no celestial WCS"):
        ds9.crosshair(63.35, 10.46)
    assert ds9.get("pan image").split() == ["301", "301"]  # not moved


def test_region_file_ds9_rejects(ds9: DS9, a478: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.reg"
    bad.write_text('# Region file format: DS9 version 4.1\nfk5\ncircle(63.35,10.46,garbage")\n')
    ds9.open_image(a478)
    with pytest.raises(DS9Error, match=f"rejected the regions of {bad}"):
        ds9.load_regions(bad)


def test_ds9_reads_yes_no_spellings_and_bracket_free_points_as_xrbid(
    ds9: DS9, a478: Path, tmp_path: Path
) -> None:
    """DS9's own reading (it saves excluded shapes as ``-circle``) is the reference."""
    path = tmp_path / "spellings.reg"
    path.write_text(
        "# Region file format: DS9 version 4.1\nimage\n"
        "circle(100,100,5) # include=no\ncircle(120,100,5) # include=False\n"
        "circle(140,100,5) # include=0\ncircle(160,100,5) # include=OFF\n"
        "circle(180,100,5) # include=yes\ncircle(200,100,5) # include=TRUE\n"
        "circle point 400 400\nglobal include=0\ncircle(220,100,5)\n"
    )
    ds9.open_image(a478)
    ds9.delete_regions()
    ds9.load_regions(path)
    theirs = ds9.regions("image").sort_values(["x", "y"]).reset_index(drop=True)
    ours = read_regions(path).sort_values(["x", "y"]).reset_index(drop=True)
    assert len(theirs) == len(ours) == 8
    assert theirs["shape"].tolist() == ours["shape"].tolist()
    np.testing.assert_allclose(theirs[["x", "y"]], ours[["x", "y"]], atol=1e-6)
    assert theirs["exclude"].astype(bool).tolist() == ours["exclude"].astype(bool).tolist()
    assert theirs["exclude"].astype(bool).tolist() == [
        True,
        True,
        True,
        True,
        False,
        False,
        True,
        False,  # x = 100 ... 220, then the point
    ]
    assert "-circle" in ds9.get("regions -format ds9 -system image")
    ds9.delete_regions()
    nan = tmp_path / "nan.reg"
    nan.write_text('# Region file format: DS9 version 4.1\nfk5\ncircle(63.35,10.46,nan")\n')
    with pytest.raises(DS9Error, match="rejected"):
        ds9.load_regions(nan)
    with pytest.raises(XrbidError, match="line 3: 'nan' is not a finite number"):
        read_regions(nan)


def test_bad_image_file(ds9: DS9, tmp_path: Path) -> None:
    not_fits = tmp_path / "table.fits"
    not_fits.write_text("this is not FITS\n")
    with pytest.raises(DS9Error, match="could not load"):
        ds9.open_image(not_fits)
    assert ds9.frames() == []  # the new frame was removed again
    with pytest.raises(InputError, match="no such file"):
        ds9.open_image(tmp_path / "missing.fits")


def test_regions_need_an_image(ds9: DS9) -> None:
    with pytest.raises(DS9Error, match="no image"):
        ds9.load_regions('fk5\ncircle(63.35,10.46,2")\n')


@pytest.mark.parametrize("transport", ["xpa", "samp"])
@pytest.mark.parametrize("how", ["frozen", "killed"])
@pytest.mark.filterwarnings("ignore::pyvo.samp.errors.SAMPWarning")  # the hub cannot reach it
def test_ds9_dying_mid_command_times_out(ds9_server, spare_ds9, transport, how) -> None:
    title = f"xrbid-victim-{transport}-{how}"
    process = spare_ds9(title, args=("-samp", "no") if transport == "xpa" else ())
    if transport == "samp":
        wait_until(
            lambda: title in [t.name for t in find_ds9("samp", timeout=5)], 30, "DS9 on SAMP"
        )
    session = DS9(title, transport=transport, timeout=2)
    assert session.frames() == [1]
    os.kill(process.pid, signal.SIGSTOP)  # DS9 stops answering in the middle of work
    if how == "killed":
        threading.Timer(0.5, os.kill, (process.pid, signal.SIGKILL)).start()
    t0 = time.monotonic()
    with pytest.raises(DS9Error, match=r"did not answer|no longer answers|closed"):
        session.frames()
    assert time.monotonic() - t0 < 2 + 2.5
    with pytest.raises(DS9Error, match="closed"):
        session.frames()  # the session knows it lost DS9


# --------------------------------------------------------------------------------------------
# frames, stretch, blinking, positions off the image, regions of another field
# --------------------------------------------------------------------------------------------


def test_an_empty_current_frame_is_used_first(ds9: DS9, a478: Path) -> None:
    """A DS9 just started has one empty frame: the first image goes there, not into frame 2."""
    ds9.set("frame new")  # the state of a DS9 just started
    assert ds9.frames() == [1] and ds9.image_file() == ""
    assert ds9.open_image(a478, frame="new") == 1
    assert ds9.frames() == [1]
    assert ds9.open_image(a478, frame="current") == 1  # replaces the image
    assert ds9.frames() == [1]
    assert ds9.open_image(a478, frame="new") == 2  # frame 1 shows an image now
    assert ds9.frames() == [1, 2]
    ds9.blink(0.2)  # two images: blinking, matching and snapshots have no empty frame
    ds9.blink(False)
    ds9.match_frames("wcs")


def test_default_stretch_is_log_over_the_995_clip(ds9: DS9, a478: Path, tmp_path) -> None:
    """The default stretch clips at the 0.25 and 99.75 percentiles of the pixel values (checked
    against numpy's percentiles of the FITS data) and shows far more of the sky background
    than DS9's linear min-max."""
    import matplotlib.image as mpimg

    data = fits.getdata(a478, "SCI").astype(float)
    low, high = np.percentile(data[np.isfinite(data)], [0.25, 99.75])
    ds9.open_image(a478)
    ds9.set("colorbar no")
    ds9.zoom("fit")
    ds9.set("scale linear")
    ds9.set("scale mode minmax")
    dark = mpimg.imread(ds9.snapshot(tmp_path / "minmax.png"))[..., :3].mean()
    ds9.stretch()
    assert ds9.get("scale") == "log"
    assert float(ds9.get("scale mode")) == 99.5
    got = [float(v) for v in ds9.get("scale limits").split()]
    assert abs(got[0] - low) < 0.01 * (high - low)
    assert abs(got[1] - high) < 0.01 * (high - low)
    shown = mpimg.imread(ds9.snapshot(tmp_path / "log.png"))[..., :3].mean()
    assert shown > 3 * dark


def test_stretch_limits_and_zscale(ds9: DS9, a478: Path) -> None:
    ds9.open_image(a478)
    ds9.stretch("sqrt", (0.0, 0.5))
    assert ds9.get("scale") == "sqrt"
    assert [float(v) for v in ds9.get("scale limits").split()] == [0.0, 0.5]
    ds9.stretch("zscale")
    assert ds9.get("scale") == "linear" and ds9.get("scale mode") == "zscale"
    for scale, limits, words in [
        ("zscale", (0.0, 1.0), "zscale chooses its own limits"),
        ("linear", (1.0, 0.0), "LOW < HIGH"),
        ("log", (0.0, float("nan")), "finite"),
        ("hist", None, "scale must be one of"),
    ]:
        with pytest.raises(InputError, match=words):
            ds9.stretch(scale, limits)
    assert ds9.get("scale mode") == "zscale"  # untouched by the refused ones


def test_blink_stops(ds9: DS9, a478: Path) -> None:
    ds9.open_image(a478)
    ds9.open_image(a478)
    ds9.blink(0.3)
    assert ds9.blink_state() == pytest.approx(0.3)
    ds9.blink(False)
    assert ds9.blink_state() is None
    assert ds9.get("single") == "yes"
    with pytest.raises(InputError, match="positive number of seconds"):
        ds9.blink(True)


@pytest.mark.parametrize("mode", ["tile", "single"])
def test_before_after_modes(ds9: DS9, a478: Path, a478_wcs, tmp_path, mode: str) -> None:
    from xrbid.ds9 import blink_before_after
    from xrbid.regions import write_regions

    table = candidates(a478_wcs, n=3)
    before = write_regions(table, tmp_path / "before.reg", radius=1.0)
    after = write_regions(table.assign(ra=table["ra"] + 1e-4), tmp_path / "after.reg", radius=1.0)
    first, second = blink_before_after(ds9, a478, before, after, mode=mode)
    assert (first, second) == (1, 2)
    assert ds9.blink_state() is None
    if mode == "tile":
        assert ds9.tile_state() == "column"
    else:
        assert ds9.tile_state() is None and ds9.current_frame() == first


def test_a_failed_command_leaves_the_session_usable(ds9: DS9, a478: Path, a478_wcs) -> None:
    """Coordinates are checked finite before they are sent; a command DS9 refuses (here a
    non-number, as a NaN printed by C would be) leaves the session and DS9 working."""
    ds9.open_image(a478)
    ds9.open_image(a478)
    ds9.match_frames("wcs")
    ds9.blink(0.2)
    for bad in [(float("nan"), 10.0), (63.35, float("inf")), (63.35, 91.0)]:
        with pytest.raises(InputError, match="not a sky position"):
            ds9.crosshair(*bad)
    with pytest.raises(DS9Error, match="parse error"):
        ds9.set("crosshair -nan -nan wcs fk5")
    ra, dec = sky_at(a478_wcs, 250.0, 260.0)
    ds9.crosshair(ra[0], dec[0])  # the same session goes on
    got = ds9.crosshair_position()
    assert sep_arcsec(got[0], got[1], ra, dec)[0] < 0.01
    assert ds9.frames() == [1, 2]
    ds9.blink(False)


def test_pan_off_the_image_says_by_how_much(ds9: DS9, a478: Path, a478_wcs) -> None:
    ds9.open_image(a478)
    before = ds9.pan_position()
    # 100 pixels beyond the right edge (x = 599.5), at mid height: 10 arcsec off by astropy
    ra, dec = sky_at(a478_wcs, 699.5, 300.0)
    edge_ra, edge_dec = sky_at(a478_wcs, 599.5, 300.0)
    want = sep_arcsec(ra, dec, edge_ra, edge_dec)[0]
    with pytest.raises(InputError) as err:
        ds9.pan_to(ra[0], dec[0])
    message = str(err.value)
    assert "off the image in DS9 frame 1 (a478hst-cutout.fits[SCI])" in message
    said = float(message.split(" by ")[1].split('"')[0])
    assert abs(said - want) < 0.1
    assert ds9.pan_position() == pytest.approx(before)
    with pytest.raises(InputError, match=r"off the image .* by \d+\.\d+ deg"):
        ds9.pan_to(210.80227, 54.34895)  # M101, far from Abell 478


def test_regions_of_another_field_are_explained(ds9: DS9, a478: Path, tmp_path) -> None:
    from astropy.coordinates import SkyCoord

    reg = tmp_path / "m101.reg"
    reg.write_text('fk5\ncircle(210.80227,54.34895,2")\ncircle(210.9,54.3,2")\n')
    ds9.open_image(a478)
    with pytest.raises(DS9Error) as err:
        ds9.load_regions(reg)
    message = str(err.value)
    assert message.startswith(f"the regions of {reg} lie outside a478hst-cutout.fits")
    assert "Bad Coordinate" not in message
    # independently: the image centre from astropy, the regions' mean direction by SkyCoord
    wcs = WCS(fits.getheader(a478, "SCI"))
    centre = wcs.pixel_to_world(299.5, 299.5)
    pts = SkyCoord([210.80227, 210.9] * u.deg, [54.34895, 54.3] * u.deg)
    mean = SkyCoord(pts.cartesian.mean(), representation_type="cartesian").spherical
    apart = centre.separation(SkyCoord(mean.lon, mean.lat)).arcmin
    said = float(message.split("arcmin apart")[0].rsplit(", ", 1)[1])
    assert abs(said - apart) < 0.1
    assert len(ds9.regions()) == 0


def _colour(rgb: np.ndarray, want: tuple[float, float, float], tol: float = 0.12) -> np.ndarray:
    """(row, col) of the pixels within ``tol`` of the colour ``want`` (0-1 RGB)."""
    return np.argwhere(np.all(np.abs(rgb - np.asarray(want)) < tol, axis=-1))


def test_stamps_neighbours_candidates_bar_compass_and_skips(
    ds9: DS9, a478: Path, a478_wcs, tmp_path
) -> None:
    """Stamp geometry: 8" over 200 screen pixels = 25 screen pixels per arcsec, zoom 2.5 on
    the 0.1" pixels of the image; positions made with astropy's WCS."""
    import matplotlib.image as mpimg

    from xrbid.ds9.stamps import NEIGHBOUR_COLOR

    xs = [325.0, 300.0, 700.0, 300.0]  # B (neighbour, 2.5" east of A), A, off image, no RA
    ra, dec = sky_at(a478_wcs, xs, [300.0] * 4)
    ra[3] = np.nan
    table = pd.DataFrame(
        {
            "source_id": ["SRC B", "SRC A", "SRC OFF", "SRC NAN"],
            "ra": ra,
            "dec": dec,
            "pu_1sigma": [0.5, 0.8, 0.5, 0.5],
            "pu_2sigma": [1.0, 1.5, 1.0, 1.0],
        }
    )
    c_ra, c_dec = sky_at(a478_wcs, [305.0, 290.0, 330.0], [308.0, 297.0, 305.0])
    cands = pd.DataFrame(
        {"source_id": ["SRC A", "SRC A", "SRC B"], "rank": [1, 2, 1], "ra": c_ra, "dec": c_dec}
    )
    made = postage_stamps(ds9, table, a478, tmp_path / "st", size=8.0, pixels=200, candidates=cands)
    assert [p.name for p in made] == ["SRC_B.png", "SRC_A.png"]
    assert made.skipped["source_id"].tolist() == ["SRC OFF", "SRC NAN"]
    edge_ra, edge_dec = sky_at(a478_wcs, 599.5, 300.0)
    off = sep_arcsec(ra[2], dec[2], edge_ra, edge_dec)[0]  # 10.0" by astropy
    assert made.skipped["reason"].tolist() == [f'off the image by {off:.1f}"', "no finite RA/Dec"]
    assert made.bar_arcsec == 2.0

    per_arcsec = 200 / 8.0
    rgb = mpimg.imread(made[1])[..., :3]  # the stamp of A
    green = _colour(rgb, (0.2, 0.8, 0.2))  # DS9's green
    assert len(green) > 20
    assert np.all(np.abs(green.mean(axis=0) - 99.5) < 2)  # only A's own 1-sigma circle
    assert np.hypot(*(green - 99.5).T).max() < 0.8 * per_arcsec + 3
    faint = tuple(int(NEIGHBOUR_COLOR[i : i + 2], 16) / 255 for i in (1, 3, 5))
    ring = _colour(rgb, faint)
    assert len(ring) > 20  # B's circles, 2.5" east = 62.5 screen pixels to the right
    assert np.all(np.abs(ring.mean(axis=0) - (99.5, 99.5 + 2.5 * per_arcsec)) < 4)
    yellow = _colour(rgb, (1.0, 1.0, 0.0), tol=0.2)
    bar = yellow[(yellow[:, 0] > 170) & (yellow[:, 0] < 190) & (yellow[:, 1] < 100)]
    assert abs((bar[:, 1].max() - bar[:, 1].min()) - 2.0 * per_arcsec) < 4  # a 2" bar
    compass = yellow[(yellow[:, 0] < 80) & (yellow[:, 1] > 120)]
    assert len(compass) > 20  # the N/E arrows, top right
    # A's candidates, numbered as in the counterparts table (A's stamp was the last one)
    drawn = ds9.regions()
    numbered = drawn[drawn["color"] == "cyan"].sort_values("label")
    assert numbered["label"].tolist() == ["1", "2"]
    assert sep_arcsec(numbered["ra"], numbered["dec"], c_ra[:2], c_dec[:2]).max() < 0.01
