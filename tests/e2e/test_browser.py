"""The app in a real browser: it loads, trains the article's network, and shows no exception."""

import pytest

from .conftest import OUTPUT, wait_idle

pytestmark = pytest.mark.e2e


def test_app_loads_and_trains_in_a_browser(page):
    assert "nnplay" in page.locator("h1").first.inner_text()
    page.get_by_role("button", name="Train").click()
    wait_idle(page)
    page.wait_for_selector("text=(hidden1): Linear(in_features=2, out_features=8, bias=True)", timeout=60_000)
    page.wait_for_selector(".st-key-loss canvas, .st-key-loss svg", timeout=30_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(OUTPUT / "app.png"), full_page=True)
