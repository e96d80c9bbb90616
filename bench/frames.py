"""What a viewer sees of a run: the Playground in Chromium, sampled at every animation frame.

Run: python -m bench.frames            (a readable report; --json prints one object)

A fresh ``streamlit run app.py`` is started; the Playground is opened twice with the default
experiment (``--query`` for another): first on the fresh server (cold: PyTorch is imported by that
first visit), then in a new tab (warm). A script in the page records, at every animation frame,
the epoch the page shows and whether the decision boundary's map is painted (pixels sampled inside
the plot). From that it prints:

- time to the first painted boundary after navigation starts, cold and warm, and its epoch;
- the epoch of every frame displayed (a frame: a new epoch on screen);
- frames shown before the loss has made 90% of its way from its first value to its final one
  (the same Config trained here, deterministically), and before it is within 10% of its final value;
- the share of sampled animation frames, while training, whose boundary has its map painted;
- frames per second while playing.

Figures are reported, never enforced: the exit code is 0 when the run was watched to its end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.load import Server

CHROMIUM = os.environ.get("NNPLAY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

SETTLE_SECONDS = 2.0

# Runs in the page before Streamlit's own scripts: one sample per animation frame.
SAMPLER = """
(() => {
  const samples = [];
  window.__nnplaySamples = samples;
  const parse = (text) => {
    const m = /epoch (\\d+) \\/ (\\d+) · (\\w+)/.exec(text || "");
    return m ? {epoch: +m[1], budget: +m[2], status: m[3]} : null;
  };
  const painted = (canvas) => {
    // Pixels on a 7x7 lattice inside the plot (the canvas also holds the axes and the legend): the
    // map covers the plot, the data points little of it. Background (white or transparent) is unpainted.
    const ctx = canvas.getContext("2d");
    const w = canvas.width, h = canvas.height;
    let filled = 0, total = 0;
    for (let i = 0; i < 7; i++) for (let j = 0; j < 7; j++) {
      const x = Math.floor(w * (0.3 + 0.35 * i / 6)), y = Math.floor(h * (0.15 + 0.55 * j / 6));
      const [r, g, b, a] = ctx.getImageData(x, y, 1, 1).data;
      total++;
      if (a > 0 && !(r > 250 && g > 250 && b > 250)) filled++;
    }
    return filled / total;
  };
  const imaged = (svg) => {
    // A map drawn as an SVG image (as nnplay drew it before rectangles): Vega leaves the image's
    // address empty until the picture has loaded.
    const image = svg.querySelector("image");
    const href = image && (image.getAttribute("href") || image.getAttribute("xlink:href"));
    return href ? 1 : 0;
  };
  const tick = () => {
    const bar = document.querySelector(".st-key-epoch");
    const canvas = document.querySelector(".st-key-boundary canvas");
    const svg = canvas ? null : document.querySelector(".st-key-boundary svg.marks");
    const state = parse(bar && bar.innerText);
    samples.push({
      t: performance.now(),
      epoch: state ? state.epoch : null,
      status: state ? state.status : null,
      chart: !!(canvas || svg),
      painted: canvas && canvas.width > 0 ? painted(canvas) : svg ? imaged(svg) : 0,
    });
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"""


def watch(browser, url: str, timeout: float) -> list[dict]:
    """Open ``url`` in a fresh tab and sample it until the run is done (or ``timeout`` seconds)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.add_init_script(SAMPLER)
        # A new tab starts the browser's own pages (headless Chromium builds its omnibox popup, about
        # a second of CPU): a viewer's browser has done that long before they open a link, so the
        # tab settles first. Times count from the navigation's start.
        page.goto("about:blank")
        time.sleep(SETTLE_SECONDS)
        page.goto(url)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last = page.evaluate("(() => { const s = window.__nnplaySamples || []; return s[s.length - 1]; })()")
            if last and last["status"] in ("done", "diverged", "stopped"):
                time.sleep(0.5)  # a few frames of the finished page
                break
            time.sleep(0.25)
        return page.evaluate("window.__nnplaySamples")
    finally:
        context.close()


def loss_marks(query: str) -> tuple[int, int]:
    """The first epochs at which the loss has made 90% of its way from its first value to its final
    one, and at which it is within 10% of its final value: the same Config trained here."""
    from urllib.parse import parse_qsl

    from nnplay.config import Config
    from nnplay.frames import learned_by
    from nnplay.train import Trainer

    config, _ = Config.from_query(dict(parse_qsl(query.lstrip("?"))), ignore=("autoplay", "hide", "speed", "page"))
    losses = Trainer(config).run().history["train_loss"].tolist()
    near = next(i for i, v in enumerate(losses, 1) if v <= 1.1 * losses[-1])
    return learned_by(losses), near


def summarise(samples: list[dict], way: int, near: int) -> dict:
    painted = [s for s in samples if s["chart"] and s["painted"] >= 0.9]
    first = painted[0] if painted else None
    frames, seen = [], set()
    for s in samples:  # a frame: a new epoch on screen with its boundary
        if s["chart"] and s["epoch"] is not None and s["epoch"] not in seen:
            seen.add(s["epoch"])
            frames.append(s)
    playing = [s for s in samples if s["chart"] and s["status"] == "training"]
    moving = [f for f in frames if f["status"] == "training" or f is frames[-1]]
    seconds = (moving[-1]["t"] - moving[0]["t"]) / 1000 if len(moving) > 1 else 0.0
    return {
        "first_boundary_s": round(first["t"] / 1000, 2) if first else None,
        "first_boundary_epoch": first["epoch"] if first else None,
        "frame_epochs": [f["epoch"] for f in frames],
        "frames": len(frames),
        "frames_before_90pct_of_the_drop": sum(1 for f in frames if f["epoch"] < way),
        "frames_before_within_10pct_of_final": sum(1 for f in frames if f["epoch"] < near),
        "painted_share_while_training": round(sum(s["painted"] >= 0.9 for s in playing) / len(playing), 4)
        if playing
        else None,
        "samples_while_training": len(playing),
        "frames_per_second": round((len(moving) - 1) / seconds, 2) if seconds > 0 else None,
        "seconds_to_the_end": round(frames[-1]["t"] / 1000, 2) if frames else None,
    }


@contextlib.contextmanager
def served_browser():
    """A fresh `streamlit run app.py` and Chromium: yields (the server's base URL, the browser)."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as logs:
        server = Server(None, Path(logs))
        server.start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    yield server.base, browser
                finally:
                    browser.close()
        finally:
            server.stop()


def run(args) -> dict:
    way, near = loss_marks(args.query)
    with served_browser() as (base, browser):
        cold = watch(browser, base + "/" + args.query, args.timeout)
        warm = [watch(browser, base + "/" + args.query, args.timeout) for _ in range(args.warm)]
    return {
        "query": args.query,
        "loss_90pct_of_the_drop_at_epoch": way,
        "loss_within_10pct_of_final_at_epoch": near,
        "cold": summarise(cold, way, near),
        "warm": [summarise(w, way, near) for w in warm],
    }


def readable(r: dict) -> str:
    lines = [
        f"Playground {r['query'] or '(default experiment)'}: the loss has made 90% of its drop by epoch "
        f"{r['loss_90pct_of_the_drop_at_epoch']} and is within 10% of its final value from epoch "
        f"{r['loss_within_10pct_of_final_at_epoch']}."
    ]
    for name, s in [("cold", r["cold"]), *((f"warm {i + 1}", w) for i, w in enumerate(r["warm"]))]:
        lines += [
            f"{name}: first painted boundary {s['first_boundary_s']} s after navigation, at epoch "
            f"{s['first_boundary_epoch']}; {s['frames']} frames, {s['frames_per_second']} a second; "
            f"{s['frames_before_90pct_of_the_drop']} frames before 90% of the drop "
            f"({s['frames_before_within_10pct_of_final']} before within 10% of final); map painted in "
            f"{s['painted_share_while_training']:.1%} of {s['samples_while_training']} sampled animation frames "
            "while training; run done "
            f"{s['seconds_to_the_end']} s after navigation.",
            f"  frame epochs: {s['frame_epochs']}",
        ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--query", default="", help="the Playground's query string, e.g. ?dataset=xor")
    parser.add_argument("--warm", type=int, default=2, help="warm page loads after the cold one")
    parser.add_argument("--timeout", type=float, default=120, help="seconds to watch one run at most")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    result = run(args)
    print(json.dumps(result) if args.json else readable(result))
    done = all(s["frames"] and s["seconds_to_the_end"] for s in [result["cold"], *result["warm"]])
    return 0 if done else 1


if __name__ == "__main__":
    sys.exit(main())
