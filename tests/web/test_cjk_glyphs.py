"""Chinese text renders as glyphs, not as empty boxes: the pages' font stack names CJK fonts, and the machine
has one (``make test`` installs Debian's fonts-wqy-microhei). Checked on pixels: in the page's own font, two
different Chinese characters draw different pixels, which "tofu" boxes (one shape for every missing glyph)
never do."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

DRAW = """([a, b]) => {
  const font = getComputedStyle(document.body).fontFamily;
  const pixels = (text) => {
    const c = document.createElement('canvas'); c.width = 64; c.height = 64;
    const g = c.getContext('2d'); g.fillStyle = '#fff'; g.fillRect(0, 0, 64, 64);
    g.fillStyle = '#000'; g.font = `48px ${font}`; g.textBaseline = 'top'; g.fillText(text, 4, 4);
    return Array.from(g.getImageData(0, 0, 64, 64).data.filter((_, i) => i % 4 === 0));
  };
  const pa = pixels(a), pb = pixels(b);
  return {font, inked: pa.filter(v => v < 128).length, differ: pa.filter((v, i) => v !== pb[i]).length};
}"""


def test_chinese_characters_render_as_distinct_glyphs(browser, shop_url: str) -> None:
    page = browser.new_page()
    page.goto(f"{shop_url}/")
    assert "也可以用中文" in page.get_attribute("#shopsense-chat input[name=message]", "placeholder")
    found = page.evaluate(DRAW, ["火", "车"])
    assert "WenQuanYi Micro Hei" in found["font"] and "Noto Sans CJK SC" in found["font"], found
    assert found["inked"] > 50, found  # something was drawn
    assert found["differ"] > 50, found  # and 火 is not 车: real glyphs, not the same missing-glyph box
    page.close()
