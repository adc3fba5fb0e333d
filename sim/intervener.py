"""A simulated intervener for experiments and CI: a deliberately suboptimal scripted expert that takes
over from the policy the way RLIF's protocol has a human do it.

Each step it judges the policy's proposed action against the task's scripted expert on the true object
positions (``judges_truly``; RLIF's premise: telling that a move is wrong is easier than making the right
one) the way a person watching the arm would: by where it is heading, not by how fast. The disagreement
of one step is ``1 - cos`` of the angle between the two translation commands (0 same way, 1 sideways,
2 backwards; not counted while the expert's command is nearly still) plus 1 when the gripper commands
differ in sign. The
scripted expert has no value function, so this stands in for RLIF's value gap. It is averaged over the
last few steps (an exponential moving average, weight ``smoothing`` on the newest), so a stochastic
policy's jitter does not trip it while a persistent error does; when the average exceeds ``threshold``
it takes over for ``hold_steps`` steps, then hands back and starts judging afresh.

Its suboptimality is a human's misjudgement of where things are: each episode it sees every object
position off by an offset drawn from N(0, ``aim_error``) in x and y, and acts on that when it drives
(with ``judges_truly=false`` it also judges against that misjudged plan, so it takes over from a policy
that is right, and RLIF's -1 arrives for correct moves). At 1.8 cm the
expert alone lifts the cube in about 53% of PandaPickCube episodes (benchmarks/hil.py measures it), so
a learner that ends above that rate did better than the intervener it learned from. Its labels stay
sensible (right within a centimetre or two, unbiased over episodes). Two other models of a sloppy
operator were tried and rejected because their labels poison the demo buffer: Gaussian noise on every
command (behaviour cloning on such data: 0/20) and random commands on some steps (they shrink the
cloned action towards zero, so the gripper never closes fully).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.experts import ScriptedExpert, shift_objects


@dataclass
class IntervenerConfig:
    threshold: float = 0.8  # averaged disagreement (0 agree ... 3) at which it takes over
    smoothing: float = 0.3  # weight of the newest step in the average (1: no averaging)
    hold_steps: int = 5  # steps it keeps control once it took over
    aim_error: float = 0.018  # std of its per-episode misjudgement of object positions [m] (x and y)
    judges_truly: bool = True  # judge the policy against the expert on the true positions (acts on misjudged)
    seed: int = 0


class SimulatedIntervener:
    """``command(obs, proposed)``: its 7-D action while in control, else None (``Operator``).

    :param expert: the task's scripted expert giving full 7-D actions (``action_dims=None``).
    :param dims: the action dimensions the policy controls (compared); None: all 7.
    """

    def __init__(self, expert: ScriptedExpert, cfg: IntervenerConfig, dims: list[int] | None = None) -> None:
        self.expert, self.cfg = expert, cfg
        self.dims = list(range(7)) if dims is None else list(dims)
        self.moves = [d for d in self.dims if d < 3]  # the translation commands it compares
        self.judges_gripper = 6 in self.dims
        self.rng = np.random.default_rng(cfg.seed)
        self.left = 0  # steps of the current take-over still to go
        self.disagreement = 0.0  # averaged over the last steps
        self.offset = np.zeros(2)  # this episode's misjudgement of object positions (x, y)

    def reset(self) -> None:
        self.left = 0
        self.disagreement = 0.0
        self.offset = self.rng.normal(0.0, self.cfg.aim_error, 2)

    def act(self, obs: dict[str, Any]) -> np.ndarray:
        """Its own action: the expert's, on object positions misjudged by this episode's offset."""
        return np.asarray(self.expert.act(shift_objects(obs, self.offset)), dtype=np.float32)

    def wants_control(self, obs: dict[str, Any], proposed: np.ndarray) -> bool:
        """Update the averaged disagreement with this step's proposal; True when it is over the threshold."""
        own = self.expert.act(obs) if self.cfg.judges_truly else self.act(obs)
        proposed = np.asarray(proposed, dtype=np.float64)
        now, moves = 0.0, self.moves
        own_speed = np.linalg.norm(own[moves]) if moves else 0.0
        if own_speed > 0.1:
            norms = own_speed * max(np.linalg.norm(proposed[moves]), 1e-6)
            now += 1.0 - float(np.dot(own[moves], proposed[moves])) / norms
        if self.judges_gripper and np.sign(own[6]) != np.sign(proposed[6]):
            now += 1.0
        self.disagreement += self.cfg.smoothing * (now - self.disagreement)
        return self.disagreement > self.cfg.threshold

    def command(self, obs: dict[str, Any], proposed: np.ndarray) -> np.ndarray | None:
        if self.left == 0 and self.wants_control(obs, proposed):
            self.left = self.cfg.hold_steps
            self.disagreement = 0.0  # after handing back, the policy is judged afresh
        if self.left == 0:
            return None
        self.left -= 1
        return self.act(obs)
