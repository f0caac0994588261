"""The studio in a real browser: Debian's Chromium driven by Playwright, as a user would use it.

Starts `latentedit studio` on a free localhost port, uploads a rendered face, waits for the
inversion, moves a slider and downloads the result and a sweep GIF, which must be byte-equal to
what `latentedit apply` (and `apply --sweep`) writes for the same photo, edit and strength. With STUDIO_SCREENSHOT=PATH
it also saves the page as PATH (docs/img/studio.png was made so).
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

import pytest

from benchmarks.studio_latency import CHROMIUM, CHROMIUM_FLAGS  # one place for the browser's settings
from tests.helpers import run

STEPS = ("-o", "steps=40")  # the studio and `apply` invert with the same settings: one cache entry
STRENGTH = 2.5

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


def test_upload_invert_slide_and_download_the_same_png_as_apply(cli, studio: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    assert run(cli, "world", "render", "--n", "1", "--seed", "900001", "--out", str(tmp_path / "face")).exit_code == 0
    photo = tmp_path / "face" / "900001.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 860}, accept_downloads=True)
        page.goto(studio)
        expect(page.get_by_text("Upload a photo or pick a seed.")).to_be_visible(timeout=60_000)
        page.locator("#photo input[type=file]").set_input_files(str(photo))
        expect(page.locator("#status")).to_contain_text("Inverted", timeout=180_000)
        unedited = image_source(page, "after")
        assert unedited, "no result image after the inversion"

        page.locator("#edit-0 input[type=range]").fill(str(STRENGTH))
        page.wait_for_function(
            "previous => (document.querySelector('#after img') || {}).src !== previous", arg=unedited, timeout=30_000
        )
        assert image_source(page, "after") != unedited
        page.wait_for_timeout(500)  # let the download button take the newest file
        with page.expect_download() as started:
            page.locator("#download").click()
        downloaded = tmp_path / "downloaded.png"
        started.value.save_as(downloaded)
        page.locator("#make-sweep").click()
        link = page.locator("#sweep-file a[download]")
        expect(link).to_be_visible(timeout=60_000)
        with page.expect_download() as sweep_started:
            link.click()
        sweep = tmp_path / "downloaded.gif"
        sweep_started.value.save_as(sweep)
        # local style: a reference sample and a named region, then its own slider
        page.locator("#use-reference").click()
        expect(page.locator("#reference-status")).to_contain_text("seed 1", timeout=30_000)
        page.locator("#region input").fill("top")
        page.locator("#region input").press("Enter")
        composed = image_source(page, "after")
        page.locator("#edit-2 input[type=range]").fill("1")
        page.wait_for_function(
            "previous => (document.querySelector('#after img') || {}).src !== previous", arg=composed, timeout=30_000
        )
        screenshot = os.environ.get("STUDIO_SCREENSHOT")
        page.screenshot(path=screenshot or str(tmp_path / "studio.png"), full_page=True)
        browser.close()

    out = tmp_path / "applied"
    applied = run(cli, "apply", str(photo), "--dir", f"s0={STRENGTH}", *STEPS, "--out", str(out))
    assert applied.exit_code == 0, applied.output
    assert downloaded.read_bytes() == (out / "900001_edited.png").read_bytes()
    swept = run(cli, "apply", str(photo), "--dir", "s0", "--sweep", "-3:3:7", *STEPS, "--out", str(out / "sweep"))
    assert swept.exit_code == 0, swept.output
    assert sweep.read_bytes() == (out / "sweep" / "900001_sweep.gif").read_bytes()
