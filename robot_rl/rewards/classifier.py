"""``RewardClassifier``: a trained success classifier with its threshold, saved as a folder.

A classifier folder holds::

    classifier.safetensors   the network's weights
    classifier.json          format, input spec (cameras, image_size, state keys and their statistics),
                             model config, threshold, validation precision/recall, training summary

Run time (the env wrapper)::

    clf = RewardClassifier.load("runs/classifier_pick_cube")
    clf.probability(obs)   # float in [0, 1]; obs["images"][camera] (H, W, 3) uint8, obs["state"][key]
    clf.success(obs)       # probability >= threshold
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from robot_rl.errors import CheckpointError
from robot_rl.rewards.model import ModelConfig, SuccessClassifier
from robot_rl.rewards.preprocess import InputSpec, ModelInput, preprocess

FORMAT = "robot_rl.reward_classifier/1"
WEIGHTS, META = "classifier.safetensors", "classifier.json"


class RewardClassifier:
    """A ``SuccessClassifier`` with its input spec and decision threshold (inference only)."""

    def __init__(
        self,
        model: SuccessClassifier,
        spec: InputSpec,
        model_cfg: ModelConfig,
        threshold: float = 0.5,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.model, self.spec, self.model_cfg = model, spec, model_cfg
        self.threshold = float(threshold)
        self.meta = dict(meta or {})

    @torch.no_grad()
    def probabilities(
        self,
        images: Mapping[str, np.ndarray],
        state: Mapping[str, np.ndarray] | None = None,
        batch_size: int = 256,
    ) -> np.ndarray:
        """(N,) success probabilities of N frames: camera -> (N, H, W, 3) uint8, key -> (N, D)."""
        self.model.eval()
        n = len(next(iter(images.values())))
        out = []
        for i in range(0, n, batch_size):
            part = slice(i, i + batch_size)
            batch = preprocess(
                self.spec,
                {c: images[c][part] for c in self.spec.cameras if c in images},
                {k: state[k][part] for k in self.spec.state_keys if k in state} if state else None,
            )
            out.append(torch.sigmoid(self.model(batch)).numpy())
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def inputs(self, obs: Mapping[str, Any]) -> ModelInput:
        """One env observation as a batch of one model input, through the training's ``preprocess``."""
        images = obs.get("images")
        if not isinstance(images, Mapping):
            raise ValueError("the observation has no 'images'; the reward classifier needs task.images=true")
        state = obs.get("state") or {}
        return preprocess(
            self.spec,
            {c: np.asarray(images[c])[None] for c in self.spec.cameras if c in images},
            {k: np.asarray(state[k])[None] for k in self.spec.state_keys if k in state},
        )

    @torch.no_grad()
    def probability(self, obs: Mapping[str, Any]) -> float:
        """Success probability of one env observation: obs["images"][camera] (H, W, 3) uint8 for every
        trained camera, obs["state"][key] for every trained state key."""
        self.model.eval()
        return float(torch.sigmoid(self.model(self.inputs(obs)))[0])

    def success(self, obs: Mapping[str, Any]) -> bool:
        return self.probability(obs) >= self.threshold

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in self.model.state_dict().items()}, str(folder / WEIGHTS))
        meta = {
            **self.meta,
            "format": FORMAT,
            "spec": asdict(self.spec),
            "model": asdict(self.model_cfg),
            "threshold": self.threshold,
        }
        (folder / META).write_text(json.dumps(meta, indent=1))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> RewardClassifier:
        """:raises CheckpointError: the folder is missing, incomplete or not a reward classifier."""
        folder = Path(folder)
        if not (folder / META).is_file() or not (folder / WEIGHTS).is_file():
            raise CheckpointError(
                f"{folder} is not a reward classifier (needs {META} and {WEIGHTS}); "
                "train one with `robot-rl train-classifier`"
            )
        try:
            meta = json.loads((folder / META).read_text())
            if meta.get("format") != FORMAT:
                raise ValueError(f"format {meta.get('format')!r}, expected {FORMAT!r}")
            raw = meta["spec"]
            spec = InputSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})
            model_cfg = ModelConfig(**meta["model"])
            model = SuccessClassifier(spec, model_cfg)
            model.load_state_dict(load_file(str(folder / WEIGHTS)))
        except (ValueError, KeyError, TypeError, RuntimeError, SafetensorError) as err:
            raise CheckpointError(
                f"{folder}: cannot load the reward classifier ({type(err).__name__}: {err}); "
                "retrain it with `robot-rl train-classifier`"
            ) from None
        model.eval()
        return cls(model, spec, model_cfg, float(meta["threshold"]), meta)
