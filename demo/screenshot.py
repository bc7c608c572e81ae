"""The picture in demo/README.md: the explorer on a student's own model, in Chromium.

    python -m demo.screenshot                       # writes demo/assets/explore_own_model.png

It does what a student does in the notebook (train the lecture CNN on the
synthetic X-rays, then ``exercise_logic.explore(model, x_test[:16], y_test[:16])``),
then Debian's Chromium opens the page in English, picks an image and takes
the screenshot.
"""
from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default=str(HERE / "assets" / "explore_own_model.png"))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--sample", type=int, default=2, help="gallery position to select")
    args = parser.parse_args(argv)

    import keras
    from playwright.sync_api import sync_playwright

    import exercise_logic
    from demo.server_process import free_port

    (x_train, y_train), (x_test, y_test), _ = exercise_logic.load_and_preprocess("synthetic")
    keras.utils.set_random_seed(0)
    model = exercise_logic.build_model(input_shape=(28, 28, 3), num_classes=1)
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=128, verbose=0)
    port = free_port()
    demo = exercise_logic.explore(model, x_test[:16], y_test[:16], lang="en", port=port, block=False)
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 1500})
            page.set_default_timeout(60_000)
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_function("() => document.querySelectorAll('#grid .thumbnail-item').length === 8")
            old = page.get_attribute("#overlay img", "src")
            page.locator("#sample-gallery .thumbnail-item").nth(args.sample).click()
            page.wait_for_function("""old => { const img = document.querySelector('#overlay img');
                return img && img.src !== old && img.complete && img.naturalWidth > 0; }""", arg=old)
            page.wait_for_timeout(1000)
            Path(args.output).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=args.output, full_page=True)
            browser.close()
    finally:
        demo.close(verbose=False)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
