"""The studio in a real browser: Debian's Chromium driven by Playwright, as a user would use it.

Starts `latentedit studio` on a free localhost port, uploads a rendered face, waits for the
inversion, moves a slider, conditions it on another edit, adds a local-style edit, picks the same
face from the rendered-face picker, then takes a larger photo of two faces with a landmarks file
(aligned and pasted back) and picks one of its faces. Every download must be byte-equal to what
`latentedit apply` (or `apply --sweep`) writes for the same photo, edits and strengths. With
STUDIO_SCREENSHOT=PATH it also saves the page as PATH and the pasted-back photo's page beside it as
PATH-photo.png (docs/img/studio*.png were made so).
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks.studio_latency import CHROMIUM, CHROMIUM_FLAGS  # one place for the browser's settings
from latentedit.world.seeds import HELDOUT_SEED
from tests.helpers import photo_of_two_faces, run

STEPS = ("-o", "steps=40")  # the studio and `apply` invert with the same settings: one cache entry
STRENGTH = -2.5
SLIDER = {"coarse": 0, "s0": 1, "s1": 2, "parts": 3}
"""The page's sliders: stored edits in name order, local-style catalogs last."""

missing = [
    what
    for what, absent in (
        ("the studio extra (pip install 'latentedit[studio]')", importlib.util.find_spec("gradio") is None),
        ("Playwright (pip install playwright)", importlib.util.find_spec("playwright") is None),
        (f"Chromium at {CHROMIUM} (apt-get install chromium)", not CHROMIUM.exists()),
    )
    if absent
]
pytestmark = pytest.mark.skipif(bool(missing), reason="needs " + ", ".join(missing))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def studio(cli, tmp_path: Path) -> Iterator[str]:
    """Stored edits of the embedded backend and a studio serving them (a second start on its port
    fails with one line); yields its address."""
    assert run(cli, "discover", "--method", "sefa", "--name", "s0").exit_code == 0
    assert run(cli, "discover", "--method", "sefa", "--name", "s1", "-o", "component=1").exit_code == 0
    assert run(cli, "discover", "--method", "sefa", "--name", "coarse", "-o", "layers=0-3").exit_code == 0
    catalog = ("-o", "k=6", "-o", "samples=16", "--name", "parts")
    assert run(cli, "discover", "--method", "localstyle", *catalog).exit_code == 0
    assert run(cli, "directions", "label", "parts", "top=0,1", "rest=2").exit_code == 0
    port = free_port()
    log = (tmp_path / "studio.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "latentedit", "studio", "--no-browser", "--port", str(port), *STEPS],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=os.environ.copy(),
    )
    address = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(address, timeout=2).close()
            break
        except OSError:
            assert server.poll() is None, (tmp_path / "studio.log").read_text()
            assert time.monotonic() < deadline, "the studio did not serve within 120 s"
            time.sleep(0.5)
    second = subprocess.run(
        [sys.executable, "-m", "latentedit", "studio", "--no-browser", "--port", str(port)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 2 and second.stderr.strip().count("\n") == 0, second.stderr
    assert f"Cannot serve on 127.0.0.1:{port}" in second.stderr
    yield address
    server.terminate()
    server.wait(timeout=30)
    log.close()


def image_source(page, element_id: str) -> str:
    return page.locator(f"#{element_id} img").get_attribute("src") or ""


def slider(page, name: str):
    return page.locator(f"#edit-{SLIDER[name]} input[type=range]")


def after_changes(page, act) -> None:
    """Do `act()` and wait until the result image is a new one."""
    previous = image_source(page, "after")
    act()
    page.wait_for_function(
        "previous => (document.querySelector('#after img') || {}).src !== previous", arg=previous, timeout=30_000
    )


def download(page, control, path: Path) -> Path:
    with page.expect_download() as started:
        control.click()
    started.value.save_as(path)
    return path


def pick(page, element_id: str, option: str) -> None:
    """Choose `option` in the dropdown `element_id` as a user does: open it, click the entry."""
    page.locator(f"#{element_id} input").click()
    page.get_by_role("option", name=option, exact=True).click()
    page.keyboard.press("Escape")


def test_edit_photos_in_the_browser_and_download_what_apply_writes(cli, studio: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    assert run(cli, "world", "render", "--n", "1", "--out", str(tmp_path / "face")).exit_code == 0
    (face,) = (tmp_path / "face").glob("*.png")  # the first held-out face, also the picker's first
    scene, marks, scene_pixels = photo_of_two_faces(tmp_path, (HELDOUT_SEED + 3, HELDOUT_SEED + 4))
    screenshot = Path(os.environ.get("STUDIO_SCREENSHOT") or tmp_path / "studio.png")
    got = tmp_path / "downloads"
    got.mkdir()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 860}, accept_downloads=True)
        page.goto(studio)
        status = page.locator("#status")
        expect(status).to_contain_text("Upload a photo", timeout=60_000)
        page.locator("#photo input[type=file]").set_input_files(str(face))
        expect(status).to_contain_text("Inverted", timeout=180_000)
        assert image_source(page, "after"), "no result image after the inversion"

        after_changes(page, lambda: slider(page, "s0").fill(str(STRENGTH)))
        page.wait_for_timeout(500)  # let the download button take the newest file
        plain = download(page, page.locator("#download"), got / "plain.png")
        pick(page, "swept", "s0")
        page.locator("#make-sweep").click()
        link = page.locator("#sweep-file a[download]")
        expect(link).to_be_visible(timeout=60_000)
        sweep = download(page, link, got / "sweep.gif")

        after_changes(page, lambda: pick(page, "conditioned", "coarse"))
        page.locator("#use-reference").click()  # local style: reference seed 1, region top, its slider
        expect(page.locator("#reference-status")).to_contain_text("seed 1", timeout=30_000)
        page.locator("#region input").fill("top")
        page.locator("#region input").press("Enter")
        after_changes(page, lambda: slider(page, "parts").fill("1"))
        page.wait_for_timeout(500)
        page.screenshot(path=str(screenshot), full_page=True)

        page.get_by_role("tab", name="Rendered face").click()  # the same face from the picker: cached
        page.locator("#renders button.thumbnail-item").first.click()
        expect(status).to_contain_text(f"Inverted {face.name}", timeout=60_000)
        page.wait_for_timeout(500)
        composed = download(page, page.locator("#download"), got / "composed.png")

        page.get_by_role("tab", name="Photo").click()
        page.locator("#landmarks input[type=file]").set_input_files(str(marks))
        page.locator("#photo button[aria-label=Clear]").click()  # the face uploaded first
        page.locator("#photo input[type=file]").set_input_files(str(scene))
        expect(status).to_contain_text("2 face(s) aligned and pasted back", timeout=180_000)
        pick(page, "face", "face 1")  # as apply --face 1: the other face is left as it is
        expect(status).to_contain_text("1 face(s) aligned and pasted back", timeout=60_000)
        page.wait_for_timeout(500)
        pasted = download(page, page.locator("#download"), got / "pasted.png")
        page.screenshot(path=str(screenshot.with_name(f"{screenshot.stem}-photo.png")), full_page=True)
        browser.close()

    def applied(photo: Path, *edits: str, written: str = "_edited.png") -> bytes:
        out = tmp_path / "applied" / str(len(list(tmp_path.glob("applied/*"))))
        result = run(cli, "apply", str(photo), *edits, *STEPS, "--out", str(out))
        assert result.exit_code == 0, result.output
        return (out / f"{photo.stem}{written}").read_bytes()

    assert plain.read_bytes() == applied(face, "--dir", f"s0={STRENGTH}")
    assert sweep.read_bytes() == applied(face, "--dir", "s0", "--sweep", "-3:3:7", written="_sweep.gif")
    everything = ("--dir", f"s0={STRENGTH}", "--orthogonal-to", "coarse", "--dir", "parts=1")
    local = ("--reference", "seed:1", "--region", "top")
    assert composed.read_bytes() == applied(face, *everything, *local)
    assert pasted.read_bytes() == applied(scene, *everything, *local, "--landmarks", str(marks), "--face", "1")
    whole = np.asarray(Image.open(pasted))
    assert whole.shape == scene_pixels.shape  # the whole photo, face 1 edited in place, face 0 untouched
    assert np.array_equal(whole[:, :200], scene_pixels[:, :200])
    assert np.abs(whole[:, 200:].astype(int) - scene_pixels[:, 200:]).mean() > 1
