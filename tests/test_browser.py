"""The shared ``chromium_page`` fixture really drives a browser: DOM, keyboard and a non-blank screenshot.

The viewer and web-page tests rely on it; this test fails (rather than skips) when chromium is installed but
Playwright cannot drive it, so a broken browser setup is not mistaken for passing page tests.
"""

from __future__ import annotations

import io


def test_page_renders_and_screenshot_is_not_blank(chromium_page, tmp_path) -> None:
    html = tmp_path / "page.html"
    html.write_text(
        "<!doctype html><meta charset='utf-8'><body style='background:#fff'>"
        "<p id='t'>左下肢の<mark style='background:#f90'>浮腫</mark>を認めた。</p>"
        "<input id='q'></body>",
        encoding="utf-8",
    )
    chromium_page.goto(html.as_uri())
    assert chromium_page.inner_text("mark") == "浮腫"
    chromium_page.click("#q")
    chromium_page.keyboard.type("CT")
    assert chromium_page.input_value("#q") == "CT"
    png = chromium_page.screenshot(full_page=True)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    # not blank: the highlighted text produces pixels other than the white background
    from PIL import Image

    colours = Image.open(io.BytesIO(png)).convert("RGB").getcolors(maxcolors=1 << 24)
    assert len(colours) > 2
