"""Compare and Sweep in a real browser: train both, run a sweep, open one of its values in the Playground."""

import re
import time

import pytest

from .conftest import OUTPUT, wait_idle

pytestmark = pytest.mark.e2e


def chart(page, key):
    return page.locator(f".st-key-{key} canvas, .st-key-{key} svg").first


def no_exception(page):
    assert page.locator('[data-testid="stException"]').count() == 0


def test_compare_then_sweep_then_open_a_value_in_the_playground(page_at):
    page = page_at("?epochs=100&n_samples=200&autoplay=0")
    page.get_by_role("link", name="Compare").click()
    page.get_by_role("heading", name="Compare").wait_for(timeout=30_000)
    chart(page, "compare_boundary_b").wait_for(timeout=60_000)
    page.wait_for_url(re.compile(r"/compare\?.*b_lr=0\.1"), timeout=30_000)  # B's change, in the URL
    page.get_by_role("button", name="Train both").click()
    chart(page, "compare_loss").wait_for(timeout=60_000)
    wait_idle(page)
    for key in ("compare_boundary_a", "compare_boundary_b", "compare_loss", "compare_metrics"):
        assert page.locator(f".st-key-{key}").first.is_visible(), key
    assert "A: epoch 100 / 100 · B: epoch 100 / 100" in page.locator('[data-testid="stProgress"]').inner_text()
    no_exception(page)
    page.screenshot(path=str(OUTPUT / "compare.png"), full_page=True)

    page.get_by_role("link", name="Sweep").click()
    page.get_by_role("heading", name="Sweep").wait_for(timeout=30_000)
    wait_idle(page)
    values = page.locator(".st-key-sweep_values input")
    values.fill("0.01, 0.1, 1")
    values.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Run the sweep").click()
    chart(page, "sweep_curves").wait_for(timeout=60_000)
    wait_idle(page)
    for key in ("sweep_knob_chart", "sweep_curves"):
        assert chart(page, key).is_visible(), key
    boundaries = page.locator(".st-key-sweep_boundaries [data-testid='stVegaLiteChart']")
    deadline = time.time() + 30
    while boundaries.count() < 3 and time.time() < deadline:
        time.sleep(0.3)
    assert boundaries.count() == 3
    no_exception(page)
    page.screenshot(path=str(OUTPUT / "sweep.png"), full_page=True)

    errors = []
    with page.context.expect_page(timeout=30_000) as opened:
        page.get_by_role("link", name="lr = 0.1 ↗").click()
    playground = opened.value
    playground.on("pageerror", lambda exc: errors.append(str(exc)))
    playground.wait_for_url(re.compile(r"lr=0\.1"), timeout=30_000)
    chart(playground, "boundary").wait_for(timeout=60_000)
    assert re.search(r"[?&]lr=0\.1(&|$)", playground.url) and "epochs=100" in playground.url
    playground.wait_for_function(  # the sidebar is drawn after the Playground's main content
        "() => (document.querySelector('.st-key-w_lr')?.innerText || '').includes('learning rate')", timeout=30_000
    )
    shown = playground.locator(".st-key-w_lr").inner_text()
    assert "0.1" in shown.split("learning rate", 1)[-1], shown
    no_exception(playground)
    assert errors == []
