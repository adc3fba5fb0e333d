"""Actor and learner loops over the real transport (sockets on 127.0.0.1), without ROS."""

from __future__ import annotations

import socket
import threading

import gymnasium as gym
import numpy as np

from robot_rl.agents.sac import SACAgent, SACConfig
from robot_rl.distributed.actor import Actor
from robot_rl.distributed.learner import Learner
from robot_rl.envs.point_mass import PointMassEnv
from robot_rl.loop import TrainConfig, Trainer
from robot_rl.obs import ObsSpec
from robot_rl.transport.actor_client import ActorClient
from robot_rl.transport.learner_server import LearnerServer


def make_point_mass(render_mode: str | None = None) -> gym.Env:
    return gym.wrappers.TimeLimit(PointMassEnv(dense=True), max_episode_steps=50)


def free_endpoint() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def test_two_actors_feed_one_learner_at_the_configured_utd(tmp_path) -> None:
    agent_cfg = SACConfig(num_critics=2, hidden_dims=[64, 64], init_temperature=0.1)
    cfg = TrainConfig(total_env_steps=1500, learning_starts=200, utd_ratio=2, eval_every=0, eval_episodes=10,
                      checkpoint_every=0, video_episodes=0)  # fmt: skip
    trainer = Trainer(make_point_mass, agent_cfg, cfg, tmp_path)
    endpoint = free_endpoint()
    server = LearnerServer(endpoint)
    learner = Learner(trainer, server, publish_every=100)
    stop = threading.Event()
    actors: list[Actor] = []

    def run_actor(seed: int) -> None:
        env = make_point_mass()
        spec = ObsSpec.from_space(env.observation_space)
        client = ActorClient(endpoint, f"actor{seed}", batch_size=8, flush_s=0.05)
        actor = Actor(env, SACAgent(spec, 2, agent_cfg, seed=seed), client, max_ahead_steps=32, seed=seed)
        actors.append(actor)
        try:
            actor.run(should_stop=stop.is_set)
        finally:
            client.close()

    threads = [threading.Thread(target=run_actor, args=(seed,), daemon=True) for seed in (1, 2)]
    for thread in threads:
        thread.start()
    try:
        summary = learner.run()
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        server.close()
    assert summary["env_steps"] == 1500
    assert trainer.agent.num_updates == 2 * (1500 - 200 + 1)  # the UTD held exactly
    assert {a.client.actor for a in actors} == {"actor1", "actor2"}
    assert all(a.steps > 200 for a in actors), [a.steps for a in actors]  # both fed the learner
    # flow control: no actor ran more than its window ahead of what the learner consumed
    assert sum(a.steps for a in actors) <= 1500 + 2 * (32 + 8) + 16
    assert all(a.client.weights_version > 5 for a in actors)
    # Interleaved streams never stitch: every stored transition's next observation has its own goal.
    online = trainer.online
    assert len(online) == learner.received >= 1500
    idx = np.flatnonzero(online.valid)
    _, _, boot = online.nstep_indices(idx)
    obs, next_obs = online.frames["obs"][idx], online.frames["obs"][boot]
    assert np.array_equal(obs[:, 2:], next_obs[:, 2:])  # same goal
    assert np.all(np.abs(next_obs[:, :2] - obs[:, :2]) <= 0.1 + 1e-6)  # one step of the point mass
