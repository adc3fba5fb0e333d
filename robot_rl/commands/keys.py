"""Makes CURVE key pairs for the actor/learner transport: `learner.key(_secret)` and `actor.key(_secret)`
in `out`. Give the learner the folder (it accepts the actors whose public keys are in it) and each actor
its own pair plus `learner.key`. With keys set, traffic is encrypted and unknown actors get nothing.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from robot_rl.config import ConfigError
from robot_rl.transport.keys import make_keys


def run(cfg: DictConfig) -> int:
    out = Path(cfg.out)
    names = tuple(cfg.names)
    existing = [n for n in names if (out / f"{n}.key_secret").exists()]
    if existing and not cfg.overwrite:
        raise ConfigError(f"keys {existing} already exist in {out}; pass overwrite=true to replace them")
    for public in make_keys(out, names):
        print(f"wrote {public} and {public}_secret")
    return 0
