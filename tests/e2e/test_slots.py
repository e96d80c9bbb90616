"""Trainers are taken in turn (pages/_turns.py: one per server process by default): a session in
line says so, and gets the trainer as soon as the session before it pauses or closes its tab."""

import pytest

from .conftest import OUTPUT, app_server

pytestmark = pytest.mark.e2e

LONG = "?epochs=20000&n_samples=2000"  # trains far longer than this test waits
SHORT = "?epochs=200"


def _epoch_text(page) -> str:
    return page.locator(".st-key-epoch").inner_text()


def _wait_for(page, text: str, timeout=60_000) -> None:
    try:
        page.wait_for_function(
            f"() => (document.querySelector('.st-key-epoch')?.innerText || '').includes({text!r})", timeout=timeout
        )
    except Exception:
        page.screenshot(path=str(OUTPUT / "slots-failure.png"))
        raise AssertionError(f"waited for {text!r}; the page says {_epoch_text(page)!r}") from None


def _open(browser, url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    return context, page, errors


def _training(page, timeout=60_000) -> None:
    page.wait_for_function(
        "() => /epoch [1-9][0-9]* \\/ 20000 · training/.test(document.querySelector('.st-key-epoch')?.innerText || '')",
        timeout=timeout,
    )


def test_the_trainer_passes_on_when_its_session_pauses_or_closes(browser):
    # Turns of 10 minutes: the trainer can only change hands by a Pause or a closed tab.
    # A room of one: the line is for what the room cannot serve.
    with app_server("slots.log", env={"NNPLAY_TURN_SECONDS": "600", "NNPLAY_ROOM_CAPACITY": "1"}) as url:
        first, a, a_errors = _open(browser, url + "/" + LONG)
        _training(a)
        second, b, b_errors = _open(browser, url + "/" + SHORT)
        _wait_for(b, "Waiting for a free trainer")
        _wait_for(b, "number 1 of 1 in line")
        # The page is drawn while b waits in line (its ticks wait inside the run, charts and all kept).
        b.wait_for_function("document.querySelectorAll('[data-testid=\"stVegaLiteChart\"]').length >= 3")
        b.wait_for_timeout(2000)
        b.screenshot(path=str(OUTPUT / "waiting.png"))
        assert "number 1 of 1 in line" in _epoch_text(b) and "epoch 0 / 200" in _epoch_text(b)
        assert b.locator('[data-testid="stVegaLiteChart"]').count() >= 3

        a.locator(".st-key-pause button").click()
        _wait_for(a, "paused", timeout=15_000)
        _wait_for(b, "epoch 200 / 200 · done")  # b's turn came with the Pause

        a.locator(".st-key-play button").click()  # nobody waits, so a takes the trainer again
        _training(a)
        third, c, c_errors = _open(browser, url + "/" + SHORT)
        _wait_for(c, "number 1 of 1 in line")
        first.close()  # a tab closed mid-run gives its trainer back at once, no lease running out
        _wait_for(c, "epoch 200 / 200 · done", timeout=30_000)
        for context in (second, third):
            context.close()
        assert a_errors == b_errors == c_errors == []
