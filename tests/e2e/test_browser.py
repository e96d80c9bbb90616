"""The app in a real browser: it loads, autoplay trains to the budget, the keyed charts are
visible, Pause stops the epoch counter, a sidebar change redraws, and no exception appears."""

import re
import time

import pytest

from .conftest import OUTPUT, app_server, wait_idle

pytestmark = pytest.mark.e2e
KEYS = ("boundary", "loss", "drift", "timeline")


def epoch(page) -> int:
    text = page.locator(".st-key-epoch").inner_text()
    return int(re.search(r"epoch (\d+) /", text).group(1))


def no_exception(page):
    assert page.locator('[data-testid="stException"]').count() == 0


def test_autoplay_trains_to_the_budget_and_draws_every_chart(page_at):
    page = page_at("?epochs=300")
    page.wait_for_selector(".st-key-epoch", timeout=60_000)
    page.wait_for_function(
        "() => /epoch 300 \\/ 300/.test(document.querySelector('.st-key-epoch')?.innerText || '')", timeout=120_000
    )
    wait_idle(page)
    for key in KEYS:
        chart = page.locator(f".st-key-{key} canvas, .st-key-{key} svg").first
        chart.wait_for(timeout=30_000)
        assert chart.is_visible(), key
    no_exception(page)
    page.screenshot(path=str(OUTPUT / "playground.png"), full_page=True)


def test_pause_stops_the_epoch_counter(page_at):
    page = page_at("?epochs=100000", idle=False)
    page.wait_for_function(
        "() => /epoch [1-9]\\d* \\//.test(document.querySelector('.st-key-epoch')?.innerText || '')", timeout=60_000
    )
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Play").wait_for(timeout=30_000)
    wait_idle(page)
    first = epoch(page)
    time.sleep(2)
    assert epoch(page) == first > 0
    no_exception(page)


def test_a_sidebar_change_redraws(page_at):
    page = page_at("?autoplay=0")
    page.locator(".st-key-boundary canvas, .st-key-boundary svg").first.wait_for(timeout=60_000)
    page.locator(".st-key-w_dataset [role=combobox]").click()  # the box itself, once the sidebar has drawn it
    page.get_by_role("option", name="Exclusive or").click()
    page.wait_for_url(re.compile(r"dataset=xor"), timeout=30_000)
    wait_idle(page)
    page.locator(".st-key-boundary canvas, .st-key-boundary svg").first.wait_for(timeout=30_000)
    box = page.locator(".st-key-w_dataset")
    shown = box.inner_text() + " ".join(i.input_value() for i in box.locator("input").all())
    assert "Exclusive or" in shown, shown
    assert "rebuilt" in page.locator('[data-testid="stAlert"]').all_inner_texts()[0]
    no_exception(page)


def test_a_copied_url_opens_the_same_experiment(page_at):
    page = page_at("?autoplay=0&dataset=spiral&hidden=16,16,8&activation=relu%2Btanh&seed=7")
    page.locator(".st-key-boundary canvas, .st-key-boundary svg").first.wait_for(timeout=60_000)
    copy = page_at(page.url.split("/", 3)[-1] if "?" in page.url else "")
    for p in (page, copy):
        p.wait_for_function(  # the Playground draws its sidebar last
            "() => document.querySelector('.st-key-w_dataset input')?.value"
            " && (document.querySelector('.st-key-w_layers')?.innerText || '').includes('hidden layers')",
            timeout=30_000,
        )
        assert (
            "Spiral"
            in " ".join(i.input_value() for i in p.locator(".st-key-w_dataset input").all())
            + p.locator(".st-key-w_dataset").inner_text()
        )
        assert p.locator(".st-key-w_layers").inner_text().split()[2] == "3"  # "hidden layers 3 0 8"
    assert "seed=7" in copy.url and "hidden=16%2C16%2C8" in copy.url.replace(",", "%2C")


def test_the_sidebar_keeps_the_settings_across_pages(page_at):
    page = page_at("?dataset=blobs&epochs=300&autoplay=0")
    for name in ("Inside the network", "Data", "About", "Playground"):
        page.get_by_role("link", name=name).click()
        page.get_by_role("heading").first.wait_for(timeout=30_000)
        wait_idle(page)
        # The sidebar is redrawn by the new page; give it the moment a person would, then read it.
        deadline, shown = time.time() + 30, ""
        while time.time() < deadline:
            box = page.locator(".st-key-w_dataset")
            shown = " ".join([*box.all_inner_texts(), *(i.input_value() for i in box.locator("input").all())])
            if "Blobs" in shown or ("Circle" in shown and time.time() > deadline - 25):
                break
            time.sleep(0.3)
        assert "Blobs" in shown, (name, shown)
        assert page.locator(".st-key-w_epochs input").input_value() == "300", name
    no_exception(page)


@pytest.mark.parametrize("path, title", [("inside", "Inside the network"), ("compare", "Compare")])
def test_a_first_visit_straight_to_a_page_goes_through_the_navigation(browser, path, title):
    """On a fresh server, Streamlit took the pages/ folder for its old multipage scheme until some run
    reached st.navigation: a shared link to /inside showed raw file names and no page config (Compare,
    which reads its link before drawing, too)."""
    with app_server(f"fresh-server-{path}.log") as url:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        try:
            page = context.new_page()
            page.goto(url + f"/{path}?autoplay=0")
            nav = page.locator('[data-testid="stSidebarNav"]')
            nav.get_by_text(title, exact=True).wait_for(timeout=60_000)
            wait_idle(page)
            assert "shared" not in nav.inner_text()
            assert page.title() == "nnplay"
            assert page.url.startswith(url + f"/{path}")
            no_exception(page)
        finally:
            context.close()


def test_a_fresh_server_says_it_is_starting(browser):
    """The first visit imports PyTorch (seconds): the page says so, under the app's own navigation,
    then draws the untrained network."""
    with app_server("starting-server.log") as url:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        try:
            page = context.new_page()
            page.goto(url + "/?autoplay=0")
            page.get_by_text("Starting nnplay").wait_for(timeout=60_000)
            nav = page.locator('[data-testid="stSidebarNav"]')
            assert "Inside the network" in nav.inner_text() and "shared" not in nav.inner_text()
            page.locator(".st-key-boundary canvas").first.wait_for(timeout=60_000)
            assert page.get_by_text("Starting nnplay").count() == 0
            no_exception(page)
        finally:
            context.close()
