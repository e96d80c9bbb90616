"""A newcomer's first visit, as a person makes it in a browser: open the app, watch the default run
learn, start from the article's preset, go to another page and back, see a custom loss where it is
chosen, and watch the Lesson's optimizer step change the weights. The screenshots it takes are the
README's pictures: with NNPLAY_SCREENSHOTS=docs/newcomer they are written there, else under
tests/output/newcomer."""

import os
import re
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from .conftest import OUTPUT, ROOT, wait_idle

pytestmark = pytest.mark.e2e
SCREEN = {"width": 1400, "height": 900}
SHOTS = ROOT / os.environ.get("NNPLAY_SCREENSHOTS", str(OUTPUT / "newcomer"))
LAST_PROGRESS = """() => {
  const bars = document.querySelectorAll('.st-key-epoch');
  return bars.length ? bars[bars.length - 1].innerText : '';
}"""
README_SHOTS = ("1-untrained.png", "2-learning.png", "3-article.png", "4-custom-loss.png", "5-lesson-step.png")


def progress(page) -> tuple[int, int, str] | None:
    """The run's "epoch N / M · status" line as (N, M, status)."""
    # Two for a moment while a rerun replaces the fragment: the last is the new one.
    text = page.evaluate(LAST_PROGRESS)
    m = re.search(r"epoch (\d+) / (\d+) · (\w+)", text)
    return (int(m[1]), int(m[2]), m[3]) if m else None


def wait_for(page, until, timeout=90.0, what="the page"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = until()
        if value:
            return value
        page.wait_for_timeout(100)
    pytest.fail(f"{what} did not come within {timeout:.0f} s")


def train_loss(page) -> str:
    """The train loss tile as shown (the newest, while a rerun replaces the fragment)."""
    return page.evaluate(
        """() => { const m = document.querySelectorAll('.st-key-metrics [data-testid="stMetricValue"]');
                   return m.length ? m[m.length - 4].innerText : ''; }"""
    )


def shown_value(page, key: str) -> str:
    box = page.locator(f".st-key-{key}").last
    return " ".join([box.inner_text(), *(i.input_value() for i in box.locator("input").all())])


def go_to(page, title: str):
    link = page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title)
    for _ in range(3):  # a click that lands while a rerun redraws the sidebar can be lost
        link.click()
        try:
            page.wait_for_url(lambda url: urlparse(url).path == "/" + title.lower(), timeout=20_000)
            return
        except Exception:  # tried again; the last try fails the test below
            page.screenshot(path=str(OUTPUT / f"newcomer-{title.lower()}-missed.png"))
    pytest.fail(f"{title} did not open")


def test_a_newcomers_first_visit(browser, server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=SCREEN)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        # 1. The untrained network comes first, on its own, then the run learns where one can see it.
        page.goto(server + "/")
        first = wait_for(page, lambda: progress(page), what="the first frame")
        assert first[0] == 0, first
        page.locator(".st-key-boundary canvas").wait_for(timeout=60_000)
        page.screenshot(path=str(SHOTS / "1-untrained.png"))
        seen = {first[0]}
        while not (state := progress(page)) or state[0] < 20:
            seen.add(state[0] if state else 0)
            page.wait_for_timeout(50)
        page.screenshot(path=str(SHOTS / "2-learning.png"))
        assert len(seen) >= 3, seen  # frames between the untrained network and epoch 20
        wait_for(page, lambda: (s := progress(page)) and s[2] == "done", what="the end of the default run")

        # 2. The article's experiment is one click away, and says what it is.
        page.locator(".st-key-presets button").first.click()
        page.get_by_role("button", name="the article's experiment").click()
        page.get_by_text("Started from the article's experiment").wait_for(timeout=30_000)
        wait_for(page, lambda: "The article's 5 features" in shown_value(page, "w_dataset"), what="the preset")
        # The last run's "done" may still be on screen a moment: the article's run has its own loss.
        wait_for(page, lambda: train_loss(page) == "0.1750", what="the article's final train loss")
        assert progress(page) == (1000, 1000, "done")
        wait_idle(page)
        page.screenshot(path=str(SHOTS / "3-article.png"))

        # 3. Another page and back: the run and every control as they were.
        go_to(page, "Compare")
        wait_idle(page)
        assert "The article's 5 features" in shown_value(page, "w_dataset")
        page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Playground").click()
        wait_for(page, lambda: (s := progress(page)) and s[0] == 1000, what="the Playground again")
        wait_idle(page)
        assert progress(page) == (1000, 1000, "done")
        assert "The article's 5 features" in shown_value(page, "w_dataset")
        assert "normal" in shown_value(page, "w_speed")

        # 4. A custom loss from a link is there to read and edit where it is chosen.
        expression = "mean(abs(y_pred - y)**3)"
        page.goto(server + "/?dataset=plane&loss=custom&autoplay=0&loss_expr=" + expression.replace("+", "%2B"))
        field = page.locator(".st-key-w_loss_expr input")
        field.wait_for(timeout=60_000)
        wait_idle(page)
        assert field.input_value() == expression
        page.screenshot(path=str(SHOTS / "4-custom-loss.png"))

        # 5. The Lesson's optimizer step shows every weight move by -lr x its gradient.
        go_to(page, "Lesson")
        page.locator(".st-key-lesson_article button").click()
        table = page.locator('[data-testid="stDataFrame"] table').first
        table.wait_for(state="attached", timeout=60_000)
        wait_idle(page)
        rows = wait_for(page, lambda: table_rows(table), what="the step's table")
        assert len(rows) >= 4
        for before, gradient, after in rows:
            assert after == pytest.approx(before - 0.1 * gradient, abs=1e-6)
        assert any(abs(after - before) > 1e-4 for before, _gradient, after in rows)
        page.locator('[data-testid="stDataFrame"]').first.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "5-lesson-step.png"))
    finally:
        context.close()
    assert errors == [], errors


def table_rows(table) -> list[tuple[float, ...]]:
    """A data frame's rows as the browser holds them for screen readers (the grid itself is a canvas)."""
    rows = []
    for row in table.locator("tbody tr").all():
        cells = [c.inner_text() for c in row.locator("td").all()]
        try:
            rows.append(tuple(float(c) for c in cells[-3:]))
        except ValueError:
            return []
    return rows


def test_the_readme_shows_the_newcomers_screenshots():
    readme = (ROOT / "README.md").read_text()
    for name in README_SHOTS:
        assert f"docs/newcomer/{name}" in readme, name
        assert (ROOT / "docs" / "newcomer" / name).stat().st_size > 10_000, name
    assert Path(__file__).name in readme  # where they come from
