"""Sessions on one server stay apart: four browsers train four different experiments at the same
time, and each ends with exactly the numbers its experiment gives when trained alone."""

import pytest

from nnplay.config import Config
from nnplay.train import Trainer

from .conftest import wait_idle

pytestmark = pytest.mark.e2e

EXPERIMENTS = [
    {"dataset": "circle", "seed": "3", "lr": "0.03", "epochs": "200"},
    {"dataset": "xor", "seed": "5", "optimizer": "sgd", "lr": "0.3", "epochs": "200"},
    {"dataset": "spiral", "seed": "7", "hidden": "12,12", "epochs": "200", "dropout": "0.1"},
    {"dataset": "gauss", "seed": "9", "batch_size": "20", "epochs": "200"},
]


def _query(params: dict[str, str]) -> str:
    return "?" + "&".join(f"{k}={v}" for k, v in params.items())


def _metric(page, label: str) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return metric.locator('[data-testid="stMetricValue"]').inner_text().strip()


def test_concurrent_sessions_each_match_their_solo_run(page_at):
    pages = [page_at(_query(params), idle=False) for params in EXPERIMENTS]
    for page, params in zip(pages, EXPERIMENTS):
        done = f"epoch {params['epochs']} / {params['epochs']} · done"
        page.wait_for_function(
            f"() => (document.querySelector('.st-key-epoch')?.innerText || '').includes('{done}')", timeout=180_000
        )
        wait_idle(page)
    for page, params in zip(pages, EXPERIMENTS):
        config, warnings = Config.from_query(params)
        assert not warnings
        solo = Trainer(config).run().evaluate()  # the tiles show the weights as they end
        assert _metric(page, "train loss") == f"{solo['train_loss']:.4f}", params
        assert _metric(page, "test accuracy") == f"{solo['test_accuracy']:.4f}", params
        assert page.locator('[data-testid="stException"]').count() == 0


ROOM = [  # one shape: the server's room trains them in one batched pass, each with its own optimizer
    {"dataset": "circle", "seed": "1", "epochs": "2000"},
    {"dataset": "xor", "seed": "2", "optimizer": "sgd", "lr": "0.3", "momentum": "0.9", "epochs": "2000"},
    {"dataset": "gauss", "seed": "4", "lr": "0.01", "l2": "0.001", "epochs": "2000"},
    {"dataset": "moons", "seed": "6", "optimizer": "rmsprop", "lr": "0.01", "epochs": "2000"},
]


def test_four_tabs_train_together_in_the_room_and_each_ends_on_its_lone_result(page_at):
    pages = [page_at(_query(params), idle=False) for params in ROOM]
    seen, done = set(), set()
    for _ in range(1200):  # at most 3 minutes
        for i, page in enumerate(pages):
            text = page.locator(".st-key-epoch").inner_text()
            if "Trained in one batched pass with" in text:
                seen.add(i)
            if "/ 2000 · done" in text:
                done.add(i)
        if len(done) == len(pages):
            break
        pages[0].wait_for_timeout(150)
    assert len(done) == len(pages)
    assert seen, "no page said it trained in a batched pass with others"
    for page, params in zip(pages, ROOM):
        wait_idle(page)
        config, warnings = Config.from_query(params)
        assert not warnings
        solo = Trainer(config).run().evaluate()
        assert _metric(page, "train loss") == f"{solo['train_loss']:.4f}", params
        assert _metric(page, "test accuracy") == f"{solo['test_accuracy']:.4f}", params
        assert page.locator('[data-testid="stException"]').count() == 0
