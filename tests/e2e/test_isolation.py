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
