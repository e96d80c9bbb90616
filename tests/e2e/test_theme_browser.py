"""Dark mode, the three ways the README's teacher section gives: the menu's theme switch, the
system's dark setting, and a link with ``embed_options=dark_theme``. Each is checked by the page's
colour, and the charts by their pixels: a dark chart box with light text on it, not a white box or
dark text on dark. Screenshots land in tests/output/ (dark-*.png)."""

import io

import pytest
from PIL import Image

from .conftest import OUTPUT, wait_idle

DARK, LIGHT = "rgb(23, 22, 20)", "rgb(255, 255, 255)"  # Streamlit 1.67's two built-in backgrounds


def background(page) -> str:
    return page.evaluate("getComputedStyle(document.querySelector('[data-testid=stApp]')).backgroundColor")


def luminance(png: bytes) -> list[int]:
    return list(Image.open(io.BytesIO(png)).convert("L").tobytes())


def assert_readable_on_dark(page, key: str) -> None:
    """The chart in the container with this key: mostly dark, with light marks (its axis labels)."""
    pixels = luminance(page.locator(f".st-key-{key}").screenshot())
    pixels.sort()
    assert pixels[len(pixels) // 2] < 60, f"{key}: the chart's box is not dark"
    assert sum(p > 170 for p in pixels) > 200, f"{key}: no light text on the dark chart"


@pytest.fixture
def new_page(browser, server):
    contexts, errors = [], []

    def open_at(query: str, **context_options):
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, **context_options)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(server + "/" + query)
        return page

    yield open_at
    for context in contexts:
        context.close()
    assert errors == [], errors


def test_the_menu_switches_to_dark_and_it_holds_across_pages(new_page):
    page = new_page("?epochs=20", color_scheme="light")
    page.wait_for_function("document.body.innerText.includes('epoch 20 / 20')", timeout=90_000)
    wait_idle(page)
    assert background(page) == LIGHT
    page.get_by_test_id("stMainMenuButton").click()
    themes = page.get_by_test_id("stThemeSwitcher")
    assert themes.inner_text().split() == ["contrast", "System", "light_mode", "Light", "dark_mode", "Dark"]
    page.get_by_test_id("stMainMenuItem-theme-Dark").click()
    page.keyboard.press("Escape")
    page.wait_for_function(
        f"getComputedStyle(document.querySelector('[data-testid=stApp]')).backgroundColor === '{DARK}'"
    )
    page.wait_for_timeout(500)  # the charts redraw in the new theme
    page.screenshot(path=OUTPUT / "dark-playground.png")
    for key in ("boundary", "loss"):
        assert_readable_on_dark(page, key)
    # The sidebar's page links change pages without loading the document again: the theme stays.
    page.get_by_test_id("stSidebarNav").get_by_text("Inside the network").click()
    page.wait_for_url("**/inside**")
    wait_idle(page)
    assert background(page) == DARK
    page.screenshot(path=OUTPUT / "dark-inside.png")


def test_the_systems_dark_setting_and_a_dark_link_open_dark(new_page):
    system = new_page("?autoplay=0", color_scheme="dark")  # the menu's "System", the default
    wait_idle(system)
    assert background(system) == DARK
    link = new_page("?autoplay=0&embed_options=dark_theme", color_scheme="light")
    wait_idle(link)
    assert background(link) == DARK
    link.wait_for_selector(".st-key-boundary canvas")  # drawn, for the screenshot
    assert_readable_on_dark(link, "boundary")
    link.screenshot(path=OUTPUT / "dark-link.png")
    # The option stays in the address bar: a copied link opens dark too.
    assert "embed_options=dark_theme" in link.url
