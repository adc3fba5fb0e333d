"""actor_node: steps the env with the latest policy and streams transitions to the learner.

The env is the task's in-process simulation, or ``RosRobotEnv`` over a robot's topics
(``task.env_id=robot_rl/RosRobot-v0``), behind the safety shield (``safety``), with the configured
operator taking over when ``intervention.mode`` is set (a teleop device, e.g. ``teleop_topic`` fed by
``teleop_node``, or the simulated intervener). It timestamps its own
steps; in simulation it runs as fast as the learner allows (flow control), with ``realtime:=true`` it
holds ``control_hz`` (a ``RosRobotEnv`` is paced by the robot's ticks instead).
"""

from __future__ import annotations

import numpy as np
import rclpy
import torch
from rclpy.node import Node

from robot_rl.agents import agent_config, make_agent
from robot_rl.commands.train import (
    agent_env_options,
    agent_state_keys,
    load_reward_classifier,
    make_operator,
)
from robot_rl.config import ConfigError, task_config, to_dataclass
from robot_rl.distributed.actor import Actor
from robot_rl.envs.make import make_env
from robot_rl.loop import TrainConfig
from robot_rl.nodes.common import read_settings, run_node
from robot_rl.obs import ObsSpec
from robot_rl.safety.config import safety_config
from robot_rl.transport.actor_client import ActorClient
from robot_rl.transport.keys import CurveKeys

MAX_ACTORS = 1000


def actor_seed(run_seed: int, index: int) -> int:
    """The seed of one actor's episodes and exploration: the run's ``train.seed`` and the actor's own
    ``seed`` parameter (its index among the run's actors) together, so runs and actors never share one."""
    if not 0 <= index < MAX_ACTORS:
        raise ConfigError(
            f"actor seed:={index}: give the actor's index among the run's actors, 0..{MAX_ACTORS - 1}"
        )
    return MAX_ACTORS * run_seed + index


def body(node: Node) -> int:
    # One intra-op thread: a small MLP forward needs no more, and two processes each spinning two
    # OpenMP threads on a 2-core machine slow the learner down several times.
    torch.set_num_threads(1)
    settings = read_settings(node)
    realtime = node.declare_parameter("realtime", False).get_parameter_value().bool_value
    index = node.declare_parameter("seed", 0).get_parameter_value().integer_value
    cfg = settings.cfg
    task = task_config(cfg.task)
    agent_cfg = agent_config(cfg.agent)
    train: TrainConfig = to_dataclass(TrainConfig, cfg.train, "train")
    seed = actor_seed(train.seed, index)
    env = make_env(
        task,
        **agent_env_options(task, agent_cfg, safety_config(cfg)),
        operator=make_operator(cfg.intervention, task, seed),
        intervention_mode=cfg.intervention.mode,
        reward_classifier=load_reward_classifier(train),
        classifier_ends_episode=train.classifier_ends_episode,
    )
    spec = ObsSpec.from_space(env.observation_space, agent_state_keys(task, agent_cfg), task.policy_cameras)
    agent = make_agent(spec, int(np.prod(env.action_space.shape)), agent_cfg, seed=seed)
    keys = CurveKeys.actor(settings.keys) if settings.keys else None
    client = ActorClient(settings.endpoint, node.get_name(), keys=keys)
    actor = Actor(env, agent, client, realtime=realtime, warmup_steps=train.warmup_steps, seed=seed)
    node.get_logger().info(f"actor on {task.env_id} -> {settings.endpoint} (realtime={realtime})")

    def should_stop() -> bool:
        rclpy.spin_once(node, timeout_sec=0.0)
        return not rclpy.ok()

    try:
        actor.run(should_stop=should_stop)
    finally:
        client.close()
        env.close()
    return 0


def main() -> int:
    return run_node("actor", body)


if __name__ == "__main__":
    raise SystemExit(main())
