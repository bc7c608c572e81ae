"""Steps of the browser tests: open a student's page, wait for the overlay, read its pixels,
pick from a dropdown."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image


def open_student_page(browser, url: str):
    """(context, page): a new English-locale browser context on ``url``, its page recording
    every request it makes in ``page.requests_seen``."""
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 1800})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.requests_seen = []
    page.on("request", lambda request: page.requests_seen.append(request.url))
    page.goto(url)
    return context, page


def overlay_src(page) -> str | None:
    return page.get_attribute("#overlay img", "src")


def wait_for_new_overlay(page, old: str | None) -> str:
    page.wait_for_function(
        """old => { const img = document.querySelector('#overlay img');
                   return img && img.src && img.src !== old && img.complete && img.naturalWidth > 0; }""",
        arg=old)
    return overlay_src(page)


def pixels(page, src: str) -> np.ndarray:
    body = page.request.get(src).body()
    with Image.open(io.BytesIO(body)) as image:
        return np.asarray(image.convert("RGB"))


def wait_for_changed_pixels(page, shown: str, before: np.ndarray, tries: int = 5) -> str:
    """The next overlay whose pixels differ from ``before`` (earlier events may land first)."""
    for _ in range(tries):
        shown = wait_for_new_overlay(page, shown)
        if not np.array_equal(pixels(page, shown), before):
            return shown
    raise AssertionError("the overlay's pixels did not change")


def choose(page, dropdown: str, option: str) -> None:
    page.click(f"#{dropdown} input")
    page.get_by_role("option", name=option, exact=True).click()
