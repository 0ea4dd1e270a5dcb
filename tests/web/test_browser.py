"""The pages in a real browser (Debian's Chromium driven by Playwright) against a real server with the fake reader.

Screenshots go to ``$NUMBERPLATE_SCREENSHOTS`` (default: the test's tmp_path) for a person to look at.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from numberplate.store.reads import ReadQuery
from numberplate.web import get_state
from numberplate.web.server import make_server, server_url, stop_server
from tests.web.conftest import PLATE_TEXT

playwright_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

CHROMIUM = Path("/usr/bin/chromium")
PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}}

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def served(app: Flask) -> Iterator[str]:
    """``app`` served by waitress on a free port; yields its base URL."""
    server = make_server(app, dataclasses.replace(get_state(app).config, port=0, threads=4))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield server_url(server).rstrip("/")
    finally:
        stop_server(server)
        thread.join(timeout=10)


@pytest.fixture
def base_url(app: Flask) -> Iterator[str]:
    """The app (fake reader, real SQLite) served by waitress on a free port."""
    with served(app) as url:
        yield url


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("NUMBERPLATE_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def car_path(data_dir: Path) -> Path:
    return data_dir / "detect" / "images" / "openlpr" / "10.jpg"


def open_page(browser: Any, device: dict[str, Any], problems: list[str]) -> Any:
    """A page in a fresh context; console errors (CSP violations among them) and page errors go to ``problems``."""
    page = browser.new_context(**device).new_page()
    page.set_default_timeout(10_000)
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    return page


def loaded_width(page: Any, selector: str) -> int:
    """The natural width of the first matching image once it has loaded (0 when it failed)."""
    locator = page.locator(selector).first
    locator.wait_for()
    return int(locator.evaluate(
        "img => img.complete ? img.naturalWidth : new Promise(ok => {"
        " img.addEventListener('load', () => ok(img.naturalWidth));"
        " img.addEventListener('error', () => ok(0)); })"
    ))


def upload_photo(page: Any, base_url: str, photo: Path) -> None:
    page.goto(base_url + "/")
    page.set_input_files("#image", str(photo))
    assert page.locator(".chosen-files").inner_text() == f"1 file chosen: {photo.name}"
    page.get_by_role("button", name="Read plates").click()
    page.wait_for_url(f"{base_url}/reads/*")


def test_upload_read_search_watch_and_alert(
    browser: Any, base_url: str, car_path: Path, shots: Path, app: Flask
) -> None:
    problems: list[str] = []
    page = open_page(browser, PHONE, problems)
    page.goto(base_url + "/")
    assert page.locator("h1").inner_text() == "Read a number plate"
    assert page.locator("#camera").is_visible()  # a phone also offers its camera
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the screen
    page.screenshot(path=shots / "01-upload-phone.png")  # a full-page capture drops the touch emulation

    upload_photo(page, base_url, car_path)
    assert page.locator(".plate-text").inner_text() == PLATE_TEXT
    assert loaded_width(page, "img.crop") > 100
    assert page.locator("svg.photo-svg rect.plate-box").count() == 1
    assert page.get_by_role("alert").count() == 0
    page.screenshot(path=shots / "02-read-phone.png", full_page=True)

    page.get_by_role("link", name="History", exact=True).click()
    page.fill("#plate", "AB12CD")
    page.select_option("#mode", "fuzzy")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/history?*mode=fuzzy*")
    assert page.locator("#results-heading").inner_text().startswith("1 matching read")
    assert page.locator('.read-link[href="/reads/1"]').count() == 1
    assert loaded_width(page, "img.thumb") > 100
    page.screenshot(path=shots / "03-history-phone.png", full_page=True)

    page.get_by_role("link", name="Watchlist", exact=True).click()
    page.fill("#watch-plate", "AB12CDF")
    page.fill("#watch-label", "stolen van")
    page.select_option("#watch-distance", "1")
    page.get_by_role("button", name="Add to the watchlist").click()
    page.wait_for_url(f"{base_url}/watchlist")
    assert "AB12CDF is on the watchlist" in page.locator(".flash").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=shots / "04-watchlist-phone.png", full_page=True)

    upload_photo(page, base_url, car_path)
    alert = page.get_by_role("alert")
    assert "Watchlist alert" in alert.inner_text()
    assert "AB12CDF" in alert.inner_text() and "stolen van" in alert.inner_text()
    assert page.locator("rect.plate-box.alert").count() == 1
    page.screenshot(path=shots / "05-alert-phone.png", full_page=True)

    assert get_state(app).reads.counts() == {"reads": 2, "plates": 2}
    assert problems == []


def test_paste_drop_and_upload_errors_on_a_desktop(
    browser: Any, base_url: str, car_path: Path, shots: Path, app: Flask
) -> None:
    get_state(app).watchlist.add("AB12CDE", "exact", 0)
    problems: list[str] = []
    page = open_page(browser, DESKTOP, problems)
    page.goto(base_url + "/")
    assert not page.locator("#camera").is_visible()  # a mouse user gets the one file picker

    # Sending nothing: the server's message appears in the alert region, the page stays.
    page.get_by_role("button", name="Read plates").click()
    error = page.locator(".upload-error")
    error.wait_for()
    assert "No photo was uploaded" in error.inner_text()
    assert page.url == base_url + "/"
    page.screenshot(path=shots / "06-upload-error-desktop.png", full_page=True)

    photo = list(car_path.read_bytes())
    for event in ("paste", "drop"):
        page.evaluate(
            """([bytes, kind]) => {
                const file = new File([new Uint8Array(bytes)], kind + ".jpg", {type: "image/jpeg"});
                const data = new DataTransfer();
                data.items.add(file);
                const target = document.querySelector(".drop-zone");
                const event = kind === "paste"
                    ? new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true})
                    : new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true});
                target.dispatchEvent(event);
            }""",
            [photo, event],
        )
        assert page.locator(".chosen-files").inner_text() == f"1 file chosen: {event}.jpg"
        assert page.locator("#image").evaluate("input => input.files[0].name") == f"{event}.jpg"

    page.get_by_role("button", name="Read plates").click()
    page.wait_for_url(f"{base_url}/reads/*")
    assert page.locator(".plate-text").inner_text() == PLATE_TEXT
    assert "drop.jpg" in page.locator(".meta").first.inner_text()
    assert "exact match" in page.get_by_role("alert").inner_text()
    assert loaded_width(page, "img.crop") > 100
    page.screenshot(path=shots / "07-read-alert-desktop.png", full_page=True)
    page.goto(base_url + "/history")
    page.screenshot(path=shots / "08-history-desktop.png", full_page=True)
    assert [p for p in problems if "status of 400" not in p] == []  # the 400 is the empty upload's


def test_a_video_dropped_on_the_form_is_read_into_the_history(
    browser: Any, base_url: str, car_path: Path, shots: Path, app: Flask, tmp_path: Path
) -> None:
    from numberplate.imaging import load_image
    from tests.video.clips import empty, passing_car, write_clip

    clip = write_clip(tmp_path / "gate.avi", passing_car(load_image(car_path), 10) + empty(5))
    problems: list[str] = []
    page = open_page(browser, DESKTOP, problems)
    page.goto(base_url + "/")
    page.evaluate(
        """(bytes) => {
            const data = new DataTransfer();
            data.items.add(new File([new Uint8Array(bytes)], "gate.avi", {type: "video/x-msvideo"}));
            document.querySelector(".drop-zone").dispatchEvent(
                new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true}));
        }""",
        list(clip.read_bytes()),
    )
    assert page.locator(".chosen-files").inner_text() == "1 file chosen: gate.avi"
    page.get_by_role("button", name="Read plates").click()
    page.wait_for_url(f"{base_url}/reads/*")
    assert page.locator(".plate-text").inner_text() == PLATE_TEXT
    assert loaded_width(page, "img.crop") > 100
    page.screenshot(path=shots / "09-video-read-desktop.png", full_page=True)
    (read,) = get_state(app).reads.search(ReadQuery()).items
    assert (read.source, read.filename, read.width) == ("video", "gate.avi", 640)
    assert problems == []


def test_a_batch_with_a_bad_photo_shows_why_and_long_names_fit_a_phone(
    browser: Any, base_url: str, car_path: Path, shots: Path, app: Flask
) -> None:
    long_name = "B" * 120 + ".jpg"  # names without spaces cannot wrap at a word
    problems: list[str] = []
    page = open_page(browser, PHONE, problems)
    page.goto(base_url + "/")
    page.set_input_files("#image", [
        {"name": long_name, "mimeType": "image/jpeg", "buffer": car_path.read_bytes()},
        {"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"not a photo"},
    ])
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("button", name="Read plates").click()
    page.wait_for_url(f"{base_url}/reads/batch?*")
    # The upload goes by XMLHttpRequest; the reason the second photo was not read must survive to the page shown.
    assert "notes.jpg: notes.jpg is not an image" in page.locator(".flash.error").inner_text()
    assert page.locator("h1").inner_text() == "1 photo read"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=shots / "10-batch-error-phone.png", full_page=True)

    (read,) = get_state(app).reads.search(ReadQuery()).items
    page.goto(f"{base_url}/reads/{read.id}")
    assert long_name[:40] in page.locator(".meta").first.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.goto(base_url + "/")
    page.set_input_files("#image", [{"name": long_name, "mimeType": "image/jpeg", "buffer": b"not a photo"}])
    page.get_by_role("button", name="Read plates").click()
    page.locator(".upload-error").filter(has_text="is not an image").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert [p for p in problems if "status of 400" not in p] == []


def test_long_photo_names_fit_a_phone_when_reads_are_not_stored(
    browser: Any, make_app: Callable[..., Flask], car_path: Path, shots: Path
) -> None:
    problems: list[str] = []
    page = open_page(browser, PHONE, problems)
    with served(make_app(store_reads=False)) as base_url:
        page.goto(base_url + "/")
        page.set_input_files("#image", [
            {"name": "C" * 120 + ".jpg", "mimeType": "image/jpeg", "buffer": car_path.read_bytes()},
            {"name": "D" * 120 + ".jpg", "mimeType": "image/jpeg", "buffer": car_path.read_bytes()},
        ])
        page.get_by_role("button", name="Read plates").click()
        page.locator("h1.page-title").filter(has_text="2 photos read").wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=shots / "11-results-not-stored-phone.png", full_page=True)
    assert problems == []
