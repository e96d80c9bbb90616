"""The sidebar on a laptop or a projector (1400 x 900): the controls a run is mostly about are on
the screen without scrolling, the rest a click away; presets and a custom loss as a person uses them."""

import time

import pytest

from .conftest import OUTPUT, wait_idle

pytestmark = pytest.mark.e2e
SCREEN = {"width": 1400, "height": 900}
# In the order a failure is most telling: the layers came 1 400 px down a 3 000 px sidebar.
ESSENTIALS = ("w_dataset", "w_layers", "w_n0", "w_a0", "w_n1", "w_a1", "w_noise")
ESSENTIALS += ("w_loss", "w_optimizer", "w_lr", "w_speed", "presets")


def open_sidebar(browser, server, query: str):
    context = browser.new_context(viewport=SCREEN)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server + "/" + query)
    page.locator(".st-key-w_speed").wait_for(timeout=60_000)  # the Playground draws its sidebar last
    wait_idle(page)
    # Sliders and number fields are placeholders until their code has loaded, and shorter.
    page.wait_for_function(
        '() => !document.querySelector(\'[data-testid="stSidebar"] [data-testid="stSkeleton"]\')', timeout=30_000
    )
    return context, page, errors


def dataset_shown(page) -> str:
    box = page.locator(".st-key-w_dataset")  # the box shows its choice as an input's value
    return " ".join([box.inner_text(), *(i.input_value() for i in box.locator("input").all())])


def test_the_main_controls_fit_on_one_screen_and_the_rest_are_a_click_away(browser, server):
    context, page, errors = open_sidebar(browser, server, "?autoplay=0")
    try:
        assert page.locator('[data-testid="stSidebarContent"]').evaluate("el => el.scrollTop") == 0
        for key in ESSENTIALS:
            control = page.locator(f".st-key-{key}")
            box = control.bounding_box()
            assert control.is_visible() and box["y"] >= 0 and box["y"] + box["height"] <= SCREEN["height"], (key, box)
        page.screenshot(path=str(OUTPUT / "sidebar.png"))
        page.locator("summary", has_text="More training options").click()
        epochs = page.locator(".st-key-w_epochs input")
        epochs.wait_for(timeout=10_000)
        assert epochs.input_value() == "1000"
    finally:
        context.close()
    assert errors == [], errors


def test_a_preset_from_the_sidebar(browser, server):
    context, page, errors = open_sidebar(browser, server, "?autoplay=0&dataset=spiral")
    try:
        page.locator(".st-key-presets button").first.click()
        choice = page.get_by_role("button", name="the article's experiment")
        choice.wait_for(timeout=10_000)
        assert page.get_by_text("5-8-4-1 ReLU").first.is_visible()  # each preset says what it is
        page.screenshot(path=str(OUTPUT / "sidebar-presets.png"))
        choice.click()
        page.get_by_text("Started from the article's experiment").wait_for(timeout=30_000)
        choice.wait_for(state="hidden", timeout=10_000)  # the list closes, off the run it started
        deadline = time.time() + 30
        while "The article's 5 features" not in dataset_shown(page) and time.time() < deadline:
            time.sleep(0.3)
        assert "The article's 5 features" in dataset_shown(page)
    finally:
        context.close()
    assert errors == [], errors


def test_a_bad_custom_loss_in_the_sidebar_shows_a_caret_under_the_fault(browser, server):
    context, page, errors = open_sidebar(browser, server, "?autoplay=0&dataset=plane&loss=custom")
    try:
        field = page.locator(".st-key-w_loss_expr input")
        assert field.input_value() == "mean((y_pred - y)**4)"
        field.fill("mean((y_pred - y)**4 + [1]")
        field.press("Enter")
        code = page.locator('[data-testid="stSidebar"] [data-testid="stCode"]')
        code.wait_for(timeout=30_000)
        line, caret = code.inner_text().splitlines()
        assert line[caret.index("^")] == "["
        said = page.locator('[data-testid="stSidebar"] [data-testid="stAlert"]').inner_text()
        assert said == "Not applied (training keeps mean((y_pred - y)**4)): character '[' is not allowed", said
        page.screenshot(path=str(OUTPUT / "sidebar-custom-loss.png"))
    finally:
        context.close()
    assert errors == [], errors
