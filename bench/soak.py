"""Does a page ever die? Runs played to their end in Chromium, counting dead pages.

Run: python -m bench.soak --runs 40      (a readable report; --json prints one object)

One fresh ``streamlit run app.py``; tabs open the Playground on each experiment below in turn, let it
play to its end, then press Reset and Play and watch it to its end again in the same tab (two runs a
tab). Every ``--busy``-th round opens ``--tabs`` tabs at once, so the server is busy and sessions
wait in line. A page counts as dead when Streamlit shows its "Connection error" dialog, the page
raised a JavaScript error, or a run did not end within ``--timeout`` seconds; what the dialog said
(for instance "Cached ForwardMsg MISS") is reported.

Exit code 0 when no page died, 1 otherwise.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
import time

from bench.frames import served_browser

EXPERIMENTS = ("", "?optimizer=sgd&lr=1000&epochs=2000", "?optimizer=sgd&lr=10&epochs=2000")
ENDED = re.compile(r"epoch \d+ / \d+ · (done|diverged|stopped)")


class Tab:
    """One browser tab on the Playground, watched for its run's end and for a dead page."""

    def __init__(self, browser, url: str):
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        self.page.goto(url)

    def state(self) -> str:
        """'ended', 'dead' or 'playing'."""
        dialog = self.page.locator('[role="dialog"]')
        if dialog.count() and "Connection error" in dialog.first.inner_text():
            self.errors.append(dialog.first.inner_text().replace("\n", " ")[:300])
            return "dead"
        if self.errors:
            return "dead"
        bar = self.page.locator(".st-key-epoch")
        return "ended" if bar.count() and ENDED.search(bar.first.inner_text()) else "playing"

    def replay(self) -> None:
        self.page.locator(".st-key-reset button").click()  # by key: "Start from a preset" has "reset" in it
        self.page.wait_for_function(
            "() => /epoch 0 \\//.test(document.querySelector('.st-key-epoch')?.innerText || '')", timeout=30_000
        )
        self.page.locator(".st-key-play button").click()

    def close(self) -> None:
        self.context.close()


def wait_all(tabs: list[Tab], timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    states = ["playing"] * len(tabs)
    while time.monotonic() < deadline and "playing" in states:
        time.sleep(0.3)
        states = [s if s != "playing" else t.state() for t, s in zip(tabs, states)]
    return ["timed out" if s == "playing" else s for s in states]


def soak(args) -> dict:
    runs, dead, causes, rounds = 0, 0, [], itertools.count()
    started = time.monotonic()
    with served_browser() as (base, browser):
        while runs < args.runs:
            i = next(rounds)
            busy = args.busy and i % args.busy == args.busy - 1
            queries = [EXPERIMENTS[(i + j) % len(EXPERIMENTS)] for j in range(args.tabs if busy else 1)]
            tabs = [Tab(browser, base + "/" + q) for q in queries]
            states: list[str] = []
            try:
                for replay in (False, True):
                    if replay:
                        for t, s in zip(tabs, states):
                            if s == "ended":
                                t.replay()
                    states = wait_all(tabs, args.timeout)
                    runs += len(tabs)
                    for t, s, q in zip(tabs, states, queries):
                        if s != "ended":
                            dead += 1
                            causes.append({"query": q, "replay": replay, "state": s, "errors": t.errors[:3]})
            finally:
                for t in tabs:
                    t.close()
    return {"runs": runs, "dead": dead, "seconds": round(time.monotonic() - started, 1), "causes": causes}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="runs to watch to their end (two per tab)")
    parser.add_argument("--tabs", type=int, default=3, help="tabs at once in a busy round")
    parser.add_argument("--busy", type=int, default=4, help="every N-th round is a busy one (0: never)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds for one run to end")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    result = soak(args)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['runs']} runs in {result['seconds']} s: {result['dead']} dead pages")
        for c in result["causes"]:
            print(f"  {c['query'] or '(default)'}{' after Reset' if c['replay'] else ''}: {c['state']}: {c['errors']}")
    return 0 if result["dead"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
