"""Screenshot the top of a feedback page (score, likely mistake, first failed test) with Debian's Chromium.

    python docs/feedback_screenshot.py COURSE/feedback_html/<student>_<assignment>.html docs/feedback_page.png

Japanese text needs a Japanese font in the system (Debian: ``apt-get install fonts-ipafont-gothic``).
"""
from __future__ import annotations

import argparse
import io
import os
import shutil
from pathlib import Path

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def screenshot(page_path: Path, target: Path, width: int = 1000, height: int = 1150) -> Path:
    from PIL import Image
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(Path(page_path).resolve().as_uri())
        png = page.screenshot(clip={"x": 0, "y": 0, "width": width, "height": height})
        browser.close()
    # a 128-colour palette keeps the picture small enough to commit
    Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=128).save(target, optimize=True)
    return Path(target)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path, help="a feedback page written by `python -m grader feedback`")
    parser.add_argument("target", type=Path, help="the PNG to write")
    args = parser.parse_args(argv)
    print(screenshot(args.page, args.target))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
