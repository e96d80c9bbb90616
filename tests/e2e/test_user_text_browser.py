"""User text in a real browser: a shared link's Markdown stays text inside the app's warning boxes
(no link, no image fetched from another host, no styled words)."""

from urllib.parse import urlencode

import pytest

pytestmark = pytest.mark.e2e

PAYLOADS = {
    "dataset": "[Re-login](//ev.il/x)",
    "optimizer": "![x](//ev.il/pixel.png)",
    "lr": ":red[**URGENT**]",
    "features": "$\\alert$",
}
LIVE = "a, img, strong, em, del, code, [style], .katex, svg"  # what Markdown would have made of them


def warning_texts(page) -> list[str]:
    boxes = page.locator('[data-testid="stAlert"] [data-testid="stMarkdownContainer"]')
    boxes.first.wait_for(timeout=60_000)
    live = boxes.locator(LIVE)
    assert live.count() == 0, [live.nth(j).evaluate("e => e.outerHTML") for j in range(live.count())]
    fetched = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert not [url for url in fetched if "ev.il" in url], fetched
    return boxes.all_inner_texts()


@pytest.mark.parametrize("page_path, prefix", [("", ""), ("compare", "b_")], ids=["playground", "compare"])
def test_link_payloads_show_as_text_in_the_warning_boxes(page_at, page_path, prefix):
    query = {"autoplay": "0", **{prefix + k: v for k, v in PAYLOADS.items()}}
    page = page_at(f"{page_path}?{urlencode(query)}")
    shown = "\n".join(warning_texts(page))
    for name, payload in PAYLOADS.items():
        assert f"{prefix}{name}: " in shown and repr(payload) in shown, (name, shown)
