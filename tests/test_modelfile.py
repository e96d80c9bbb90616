"""The saved-model file (nnplay/modelfile.py): what the Playground's download holds and its upload reads."""

import io
import pickle

import pytest
import torch

from nnplay.config import Config
from nnplay.modelfile import load_model, model_bytes
from nnplay.train import Trainer


def test_a_saved_model_loads_as_its_config_and_weights():
    trainer = Trainer(Config(dataset="xor", n_samples=60, hidden=(5,), epochs=10))
    trainer.step(5)
    config, state = load_model(model_bytes(trainer))
    assert config == trainer.config and state.keys() == trainer.model.state_dict().keys()
    for name, tensor in trainer.model.state_dict().items():
        assert torch.equal(state[name], tensor.cpu()), name


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # the hostile pickle below
def test_what_is_not_a_saved_model_is_refused_in_words():
    trainer = Trainer(Config(n_samples=50, epochs=2))
    for bad, words in ((b"garbage", "not an nnplay model"), (model_bytes(trainer)[:100], "not an nnplay model")):
        with pytest.raises(ValueError, match=words):
            load_model(bad)

    class Payload:
        def __reduce__(self):
            return (print, ("pwned",))

    buf = io.BytesIO()
    pickle.dump({"format": "nnplay-model-1", "x": Payload()}, buf)
    with pytest.raises(ValueError, match="not an nnplay model"):
        load_model(buf.getvalue())


def test_a_model_file_with_bad_settings_or_no_weights_is_refused():
    def saved(**parts) -> bytes:
        buf = io.BytesIO()
        torch.save({"format": "nnplay-model-1", **parts}, buf)
        return buf.getvalue()

    with pytest.raises(ValueError, match="settings are invalid"):
        load_model(saved(config='{"lr": -1}', state_dict={}))
    with pytest.raises(ValueError, match="holds no weights"):
        load_model(saved(config=Config().to_json(), state_dict={"w": "not a tensor"}))
