"""The single-process training loop: collect with the current policy, learn at a fixed update-to-data
ratio, evaluate deterministically, log, checkpoint, resume exactly.

Works on any gymnasium env with Box or Dict observations (``robot_rl.obs.ObsSpec``); the project's
tasks come through ``make_env``.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from tqdm import tqdm

from robot_rl.agents import Agent, AgentConfig, make_agent
from robot_rl.buffers import MixedBuffer, ReplayBuffer
from robot_rl.checkpoint import load_checkpoint, save_checkpoint
from robot_rl.data.layout import flatten_obs as flat_obs
from robot_rl.envs.classifier_reward import ClassifierStats
from robot_rl.envs.intervention import InterventionTally, check_reward_source, executed_action
from robot_rl.envs.wrappers import RestrictDoF
from robot_rl.errors import ConfigError
from robot_rl.metrics import MetricLogger, plot_learning_curve, write_eval_csv
from robot_rl.obs import ObsSpec
from robot_rl.policy_export import policy_io
from robot_rl.safety.conservative import ConservativeMixer
from robot_rl.safety.risk import EnsembleDisagreement
from robot_rl.safety.shield import SafetyShield
from robot_rl.warm_start import source_replay, warm_start

log = logging.getLogger(__name__)

ROLLOUT_WINDOW = 20  # training episodes behind the rollout success rate (eval_episodes=0)


@dataclass
class TrainConfig:
    total_env_steps: int = 20_000  # env steps collected in total
    warmup_steps: int = 0  # uniform-random actions before the policy acts
    learning_starts: int = 256  # env steps before the first update (demos count as data too)
    utd_ratio: int = 1  # critic updates per env step
    batch_size: int = 256
    online_ratio: float = 0.5  # RLPD symmetric sampling: share of each batch from online data
    n_step: int = 1  # n-step returns
    buffer_capacity: int = 100_000  # online replay frames
    max_buffer_gb: float = 8.0  # refuse a buffer larger than this
    demos: str | None = None  # HDF5 demos (robomimic layout) for the offline half of each batch
    num_demos: int | None = None  # use the first N episodes of the file (None: all)
    eval_every: int = 2_000  # env steps between evaluations (0: only at the end)
    # Deterministic episodes per evaluation. 0: no evaluation env (a real robot is driven by its actor
    # alone); "evaluations" then report the success rate of the last 20 training episodes.
    eval_episodes: int = 20
    checkpoint_every: int = 10_000  # env steps between checkpoints (0: only at the end)
    video_episodes: int = 2  # episodes in the final evaluation MP4 (0: none)
    seed: int = 0
    torch_threads: int = 2
    # Conservative exploration (robot_rl/safety/conservative.py): per episode the baseline policy (the
    # task's expert) or the learner acts, keeping the expected return >= floor x the baseline's. 0: off.
    conservative_floor: float = 0.0
    # A trained success classifier's folder (robot-rl train-classifier): its verdict is the training
    # env's reward instead of the task's (robot_rl/envs/classifier_reward.py). None: the task's reward.
    reward_classifier: str | None = None
    classifier_ends_episode: bool = True  # the classifier's success ends the episode
    # Warm-start fine-tuning (WSRL, Zhou et al. 2024): start from a trained run's checkpoint (actor,
    # critics, temperature) or an export (policy only); for the first `warm_start_steps` env steps the
    # pre-trained policy collects while only the critic learns; the source's replay is not kept unless
    # `retain_source_data` (then it is the offline half of each batch, in place of demos).
    init_from: str | None = None
    warm_start_steps: int = 0
    retain_source_data: bool = False


class Trainer:
    """Owns env, agent and buffers for one run; ``run()`` trains to ``total_env_steps``."""

    def __init__(
        self,
        make_env: Callable[..., gym.Env],
        agent_cfg: AgentConfig,
        cfg: TrainConfig,
        run_dir: str | Path,
        *,
        state_keys: list[str] | None = None,
        cameras: list[str] | None = None,
        make_eval_env: Callable[[], gym.Env] | None = None,
        demo_loader: Callable[[Callable[[int], ReplayBuffer], ObsSpec], ReplayBuffer] | None = None,
        config_yaml: str = "",
        baseline: Callable[[dict[str, Any]], np.ndarray] | None = None,
        intervention_mode: str | None = None,
        interventions_to_demos: bool | None = None,
        operator: Any = None,
        reward_classifier: Any = None,
    ) -> None:
        """:param intervention_mode: ``hil_serl`` or ``rlif`` (robot_rl/envs/intervention.py) with the
        ``operator`` that intervenes in the training env; ``interventions_to_demos``: the operator's
        transitions also join the demo buffer (None: with HIL-SERL only); ``reward_classifier`` gives
        its reward (robot_rl/envs/classifier_reward.py). The evaluation env has neither: it measures the task
        (``make_eval_env``, default ``make_env``). ``state_keys`` and ``cameras`` pick what the learner
        sees (robot_rl/obs.py)."""
        torch.set_num_threads(cfg.torch_threads)
        self.baseline = baseline
        self.mixer = None
        if cfg.conservative_floor > 0:
            if baseline is None:
                raise ConfigError(
                    "train.conservative_floor > 0 needs a baseline policy (a task with an expert)"
                )
            self.mixer = ConservativeMixer(cfg.conservative_floor, seed=cfg.seed)
        torch.manual_seed(cfg.seed)
        self.cfg, self.run_dir, self.config_yaml = cfg, Path(run_dir), config_yaml
        self.make_env = make_env
        self.safety_events: Counter[str] = Counter()
        check_reward_source(intervention_mode, reward_classifier)
        self.intervention_mode = intervention_mode
        if interventions_to_demos is None:
            interventions_to_demos = intervention_mode == "hil_serl"
        self.interventions_to_demos = bool(intervention_mode and interventions_to_demos)
        self.interventions = InterventionTally()
        training_only: dict[str, Any] = {}  # a factory without these options still works without them
        if operator is not None:
            training_only.update(operator=operator, intervention_mode=intervention_mode)
        if reward_classifier is not None:
            training_only["reward_classifier"] = reward_classifier
            training_only["classifier_ends_episode"] = cfg.classifier_ends_episode
        self.env = make_env(**training_only)
        self.classifier_stats = ClassifierStats()
        self.eval_env = (make_eval_env or make_env)() if cfg.eval_episodes > 0 else None
        self.recent_successes: deque[bool] = deque(maxlen=ROLLOUT_WINDOW)  # of training episodes
        self.spec = ObsSpec.from_space(self.env.observation_space, state_keys, cameras)
        action_dim = int(np.prod(self.env.action_space.shape))
        self.agent = make_agent(self.spec, action_dim, agent_cfg, seed=cfg.seed)
        attach_ensemble_monitor(self.env, self.agent)
        buffer_args = dict(n_step=cfg.n_step, gamma=agent_cfg.gamma, max_memory_gb=cfg.max_buffer_gb)
        self.online = ReplayBuffer(self.spec.storage_spaces(), action_dim, cfg.buffer_capacity, **buffer_args)
        # HIL-SERL: the operator's transitions join the demos, so the demo buffer gets room for them.
        room = cfg.buffer_capacity if self.interventions_to_demos else 0

        def demo_buffer(capacity: int) -> ReplayBuffer:
            spaces = self.spec.storage_spaces()
            return ReplayBuffer(spaces, action_dim, capacity + room, demos=True, **buffer_args)

        self.offline: ReplayBuffer | None = None
        if cfg.init_from:
            warm_start(self.agent, self.spec, action_dim, cfg.init_from)
            log.info("warm start from %s", cfg.init_from)
        if cfg.retain_source_data:
            if not cfg.init_from or demo_loader is not None:
                raise ConfigError(
                    "train.retain_source_data needs train.init_from and no train.demos (demos=null)"
                )
            self.offline = source_replay(Path(cfg.init_from), demo_buffer)
        elif demo_loader is not None:
            self.offline = demo_loader(demo_buffer, self.spec)
        elif room:
            self.offline = demo_buffer(0)
        self.offline_segment = False  # an intervention segment is being added to the demo buffer
        self.replay = MixedBuffer(self.online, self.offline, cfg.online_ratio)
        self.rng = np.random.default_rng(cfg.seed)
        self.env_steps = 0
        self.episodes = 0
        self.history: list[dict[str, float]] = []
        self.logger = MetricLogger(self.run_dir)
        self.start_time, self.start_steps = time.time(), 0  # for time/sps; reset by run()

    # ------------------------------------------------------------------------------------------ state
    def state(self) -> dict[str, Any]:
        return {
            "env_steps": self.env_steps,
            "episodes": self.episodes,
            "num_updates": self.agent.num_updates,
            "numpy_rng": self.rng.bit_generator.state,
            "torch_generator": self.agent.generator.get_state().tolist(),
            "history": self.history,
            "recent_successes": list(self.recent_successes),
            "mixer": self.mixer.state_dict() if self.mixer else None,
            "agent_counters": getattr(self.agent, "counters", dict)(),
            "policy_io": policy_io(self.spec, int(np.prod(self.env.action_space.shape))),  # for export
        }

    def checkpointed_buffers(self) -> dict[str, ReplayBuffer]:
        """The online buffer, and the demo buffer too when it grows with interventions (HIL-SERL)."""
        if self.interventions_to_demos and self.offline is not None:
            return {"online": self.online, "offline": self.offline}
        return {"online": self.online}

    def save(self, name: str) -> Path:
        buffers = self.checkpointed_buffers()
        return save_checkpoint(
            self.run_dir / "checkpoints" / name,
            self.agent,
            self.agent.optimizers(),
            buffers,
            self.state(),
            self.config_yaml,
        )

    def resume(self, path: str | Path) -> None:
        """Restore weights, optimisers, online buffer, counters and RNGs (the demos are reloaded)."""
        state = load_checkpoint(path, self.agent, self.agent.optimizers(), self.checkpointed_buffers())
        self.env_steps, self.episodes = int(state["env_steps"]), int(state["episodes"])
        self.agent.num_updates = int(state["num_updates"])
        self.rng.bit_generator.state = state["numpy_rng"]
        self.agent.generator.set_state(torch.tensor(state["torch_generator"], dtype=torch.uint8))
        if hasattr(self.agent, "set_counters"):
            self.agent.set_counters(state.get("agent_counters", {}))
        self.history = list(state["history"])
        self.recent_successes.extend(state.get("recent_successes", []))  # older checkpoints: none
        if self.mixer and state.get("mixer"):
            self.mixer.load_state_dict(state["mixer"])
        self.online.end_episode()  # the interrupted episode is not continued; a new one starts
        if self.offline is not None:
            self.offline.end_episode()
        log.info("resumed from %s at env step %d", path, self.env_steps)

    # ------------------------------------------------------------------------------------------ loop
    def run(self) -> dict[str, Any]:
        cfg = self.cfg
        obs, _ = self.env.reset(seed=cfg.seed * 100_003 + self.episodes)
        episode_return, episode_len = 0.0, 0
        start_time = self.start_time = time.time()
        self.start_steps = self.env_steps
        bar = tqdm(
            total=cfg.total_env_steps, initial=self.env_steps, desc="train", unit="step", mininterval=1.0
        )
        acting = self.mixer.choose() if self.mixer else "learner"
        while self.env_steps < cfg.total_env_steps:
            flat = flat_obs(obs)
            if acting == "baseline":
                action = np.asarray(self.baseline(obs), dtype=np.float32)
            elif self.env_steps < cfg.warmup_steps:
                action = self.rng.uniform(-1, 1, self.env.action_space.shape).astype(np.float32)
            else:
                action = self.agent.act(flat)
            next_obs, reward, terminated, truncated, info = self.env.step(action)
            executed, intervened, refused = executed_action(action, info)
            self.store(flat, executed, float(reward), flat_obs(next_obs), terminated, truncated, intervened,
                       refused_action=refused)  # fmt: skip
            self.interventions.add(intervened)
            self.classifier_stats.add_step(info)
            self.count_safety(info.get("safety", []))
            self.env_steps += 1
            episode_return += float(reward)
            episode_len += 1
            bar.update(1)
            # The episode is accounted for before after_env_step, whose checkpoint must count it.
            if terminated or truncated:
                self.episodes += 1
                self.logger.log(
                    {
                        "rollout/return": episode_return,
                        "rollout/length": episode_len,
                        "rollout/success": float(info.get("success", False)),
                        **self.intervention_stats(),
                    },
                    self.env_steps,
                )
                self.recent_successes.append(bool(info.get("success", False)))
                self.classifier_stats.end_episode(info)
                if self.mixer:
                    self.mixer.record(acting, episode_return)
                    self.logger.log({"rollout/learner_prob": self.mixer.learner_prob()}, self.env_steps)
                    acting = self.mixer.choose()
                episode_return, episode_len = 0.0, 0
                obs, _ = self.env.reset(seed=cfg.seed * 100_003 + self.episodes)
            else:
                obs = next_obs
            success_rate = self.after_env_step()
            if success_rate is not None:
                bar.set_postfix(success=f"{success_rate:.2f}")
        bar.close()
        return self.finish(time.time() - start_time)

    def store(
        self,
        obs: dict[str, np.ndarray],
        action: np.ndarray,
        reward: float,
        next_obs: dict[str, np.ndarray],
        terminated: bool,
        truncated: bool,
        is_intervention: bool = False,
        new_chain: bool = False,
        refused_action: np.ndarray | None = None,
    ) -> None:
        """Store one transition with the executed action. HIL-SERL (``interventions_to_demos``) also puts
        an operator's transitions into the demo buffer, each contiguous stretch of them as its own chain.
        ``new_chain``: it does not continue the previous transition (another actor's, or after a restart).

        RLIF: on a take-over step ``refused_action`` is the policy's proposal the operator refused. For
        the policy that action ended in the take-over, so it is stored as a terminal transition of its
        own with the take-over's reward (-1), and the operator's executed step gets 0."""
        if self.intervention_mode == "rlif" and refused_action is not None:
            self.online.end_episode()
            self.online.add(obs, refused_action, reward, obs, terminated=True, truncated=False)
            reward, new_chain = 0.0, True
        if new_chain:
            self.online.end_episode()
        self.online.add(obs, action, reward, next_obs, terminated, truncated)
        if self.interventions_to_demos and self.offline is not None:
            if self.offline_segment and (new_chain or not is_intervention):
                self.offline.end_episode()
            if is_intervention:
                self.offline.add(obs, action, reward, next_obs, terminated, truncated)
            self.offline_segment = is_intervention and not (terminated or truncated)

    def intervention_stats(self, tally: InterventionTally | None = None) -> dict[str, float]:
        """The finished episode's take-overs and intervened share (logged only with an operator)."""
        stats = (tally or self.interventions).end_episode()
        if self.intervention_mode is None:
            return {}
        return {"rollout/interventions": stats["count"], "rollout/intervention_rate": stats["rate"]}

    def count_safety(self, events: list) -> None:
        """Tally the safety shield's events of one env step (dicts with ``layer``, or layer names)."""
        for event in events:
            self.safety_events[event["layer"] if isinstance(event, dict) else str(event)] += 1

    def after_env_step(self) -> float | None:
        """Everything one new env step is owed, in both the single-process and the learner loop: the
        UTD critic updates, periodic metrics, evaluation and checkpoints. Returns the evaluated success
        rate when an evaluation ran."""
        cfg = self.cfg
        if self.env_steps >= cfg.learning_starts:
            actor_learns = self.env_steps > cfg.warm_start_steps
            for _ in range(cfg.utd_ratio):
                metrics = self.agent.update(self.replay.sample(cfg.batch_size, self.rng), actor=actor_learns)
            if self.env_steps % 250 == 0:
                elapsed = max(time.time() - self.start_time, 1e-9)
                metrics["time/sps"] = (self.env_steps - self.start_steps) / elapsed
                metrics["time/utd_ratio"] = self.agent.num_updates / self.env_steps
                self.logger.log(metrics, self.env_steps)
        success_rate = None
        if cfg.eval_every and self.env_steps % cfg.eval_every == 0:
            success_rate = self.evaluate()["success_rate"]
        if cfg.checkpoint_every and self.env_steps % cfg.checkpoint_every == 0:
            self.save(f"step_{self.env_steps:07d}")
        return success_rate

    def evaluate(
        self, episodes: int | None = None, frames: list[np.ndarray] | None = None, log_history: bool = True
    ) -> dict[str, float]:
        """Deterministic policy over seeded episodes (seeds disjoint from training ones); without an
        evaluation env, the success rate of the last training episodes."""
        episodes = self.cfg.eval_episodes if episodes is None else episodes
        if self.eval_env is None:
            return self.rollout_success(log_history)
        successes, returns = [], []
        for i in range(episodes):
            obs, _ = self.eval_env.reset(seed=10_000_000 + i)
            done, ret, info = False, 0.0, {"success": False}
            while not done:
                obs, reward, terminated, truncated, info = self.eval_env.step(
                    self.agent.act(flat_obs(obs), True)
                )
                ret += float(reward)
                done = terminated or truncated
                if frames is not None:
                    frames.append(self.eval_env.render())
            successes.append(bool(info.get("success", False)))
            returns.append(ret)
        result = {
            "env_steps": self.env_steps,
            "success_rate": float(np.mean(successes)),
            "return": float(np.mean(returns)),
        }
        if frames is None and log_history:
            self.history.append(result)
            self.logger.log(
                {"eval/success_rate": result["success_rate"], "eval/return": result["return"]}, self.env_steps
            )
            log.info("eval at %d steps: success %.2f", self.env_steps, result["success_rate"])
        return result

    def rollout_success(self, log_history: bool = True) -> dict[str, float]:
        """The success rate of the last ``ROLLOUT_WINDOW`` training episodes (exploration included)."""
        rate = float(np.mean(self.recent_successes)) if self.recent_successes else 0.0
        result = {"env_steps": self.env_steps, "success_rate": rate, "return": float("nan")}
        if log_history:
            self.history.append(result)
            self.logger.log({"eval/rollout_success_rate": rate}, self.env_steps)
        return result

    def finish(self, wall_s: float) -> dict[str, Any]:
        if not self.history or self.history[-1]["env_steps"] != self.env_steps:
            self.evaluate()
        checkpoint = self.save("final")
        curve = plot_learning_curve(self.run_dir / "learning_curve.png", self.history, f"{self.run_dir.name}")
        write_eval_csv(self.run_dir / "eval.csv", self.history)
        video = None
        if self.cfg.video_episodes > 0 and self.eval_env is not None:
            video = self.record_video()
        summary = {
            "success_rate": self.history[-1]["success_rate"],
            "env_steps": self.env_steps,
            "wall_time_s": round(wall_s, 1),
            "checkpoint": str(checkpoint),
            "learning_curve": str(curve),
            "video": str(video) if video else None,
            "safety_events": dict(self.safety_events),  # per shield layer/trigger, over training
            "reward_classifier": self.classifier_stats.summary() if self.classifier_stats.episodes else None,
            "config": {"train": asdict(self.cfg), "agent": asdict(self.agent.cfg)},
        }
        (self.run_dir / "summary.json").write_text(json.dumps(summary, indent=1))
        self.logger.close()
        return summary

    def record_video(self) -> Path | None:
        """MP4 of ``video_episodes`` deterministic episodes, or None if the env cannot render."""
        from robot_rl.video import write_mp4

        try:
            video_env = self.make_env(render_mode="rgb_array")
        except TypeError:
            return None
        frames: list[np.ndarray] = []
        # the env's control rate, so the video plays in real time
        fps = video_env.metadata.get("render_fps") or 10
        eval_env, self.eval_env = self.eval_env, video_env
        try:
            self.evaluate(self.cfg.video_episodes, frames)
        finally:
            self.eval_env = eval_env
            video_env.close()
        frames = [f for f in frames if f is not None]
        return write_mp4(self.run_dir / "eval.mp4", frames, fps=fps) if frames else None


def attach_ensemble_monitor(env: gym.Env, agent: Agent) -> None:
    """Give the env's shield the learner's critic disagreement as risk monitor, when so configured."""
    wrappers = []
    while isinstance(env, gym.Wrapper):
        wrappers.append(env)
        env = env.env
    shield = next((w for w in wrappers if isinstance(w, SafetyShield)), None)
    if shield is None or shield.cfg.risk_monitor != "ensemble":
        return
    restrict = next((w.restrict for w in wrappers if isinstance(w, RestrictDoF)), lambda a: a)
    shield.risk_monitor = EnsembleDisagreement(lambda obs, a: agent.q_values(flat_obs(obs), restrict(a)))
