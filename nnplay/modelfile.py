"""The saved-model file: what the Playground's *Model (.pt)* download holds and *Continue from a
saved model* reads. A torch file of ``{"format", "config" (the Config as JSON), "state_dict"}``:
tensors and strings only, so it loads with ``weights_only=True`` and runs no pickled code."""

from __future__ import annotations

import io

import torch

from .config import Config, ConfigError

FORMAT = "nnplay-model-1"


def model_bytes(trainer) -> bytes:
    """A Trainer's model as it is now, with its Config, as the bytes of a torch file."""
    buf = io.BytesIO()
    state = {k: v.detach().cpu() for k, v in trainer.model.state_dict().items()}
    torch.save({"format": FORMAT, "config": trainer.config.to_json(), "state_dict": state}, buf)
    return buf.getvalue()


def load_model(raw: bytes) -> tuple[Config, dict]:
    """Read a saved model; anything that is not one (a pickle with a payload, a truncated file,
    another program's file) raises ValueError with a plain message."""
    try:
        saved = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception:  # torch raises many kinds here; the user needs one sentence
        raise ValueError("this is not an nnplay model file (it could not be read as saved weights)") from None
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        raise ValueError("this is not an nnplay model file")
    try:
        config = Config.from_json(saved["config"])
    except KeyError:
        raise ValueError("the model file holds no settings") from None
    except (ConfigError, TypeError) as exc:
        raise ValueError(f"the model's settings are invalid: {exc}") from None
    state = saved.get("state_dict")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError("the model file holds no weights")
    return config, state
