"""SAC/RLPD agent: batched ensemble, gradients reach what should train, exact resume."""

from __future__ import annotations

import copy
import dataclasses

import gymnasium as gym
import numpy as np
import pytest
import torch

from robot_rl.agents.sac import SACAgent, SACConfig
from robot_rl.buffers import ReplayBuffer
from robot_rl.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from robot_rl.obs import ObsSpec

SPACE = gym.spaces.Dict(
    {
        "state": gym.spaces.Dict({"pos": gym.spaces.Box(-1, 1, (3,), np.float32)}),
        "images": gym.spaces.Dict({"front": gym.spaces.Box(0, 255, (32, 32, 3), np.uint8)}),
    }
)


def make_agent(seed: int = 0, **overrides) -> tuple[SACAgent, ObsSpec]:
    torch.manual_seed(seed)  # network init uses the global RNG: independent of test order
    spec = ObsSpec.from_space(SPACE)
    cfg = SACConfig(num_critics=4, hidden_dims=[32, 32], image_feature_dim=8, **overrides)
    return SACAgent(spec, 2, cfg, seed=seed), spec


def filled_buffer(spec: ObsSpec, n: int = 64) -> ReplayBuffer:
    buffer = ReplayBuffer(spec.storage_spaces(), 2, capacity=n + 8, n_step=2, gamma=0.9)
    rng = np.random.default_rng(0)
    for t in range(n):
        obs = {
            "state.pos": rng.uniform(-1, 1, 3).astype(np.float32),
            "images.front": rng.integers(0, 255, (32, 32, 3), dtype=np.uint8),
        }
        nxt = {
            "state.pos": rng.uniform(-1, 1, 3).astype(np.float32),
            "images.front": rng.integers(0, 255, (32, 32, 3), dtype=np.uint8),
        }
        buffer.add(obs, rng.uniform(-1, 1, 2), float(rng.uniform()), nxt, t % 16 == 15, False)
    return buffer


def test_ensemble_is_one_batched_computation_with_independent_members() -> None:
    agent, _ = make_agent()
    q = agent.critic.forward_features(torch.zeros(5, agent.critic.encoder.out_dim), torch.zeros(5, 2))
    assert q.shape == (4, 5)
    assert not torch.allclose(q[0], q[1])  # members are initialised independently


def test_update_trains_critic_encoder_actor_and_alpha_but_actor_leaves_encoder_alone() -> None:
    agent, spec = make_agent()
    buffer = filled_buffer(spec)
    before = copy.deepcopy(agent.state_dict())
    batch = buffer.sample(16, np.random.default_rng(0))

    encoder_before = copy.deepcopy(agent.critic.encoder.state_dict())
    agent._update_actor_and_temperature(agent._augment(batch.obs), batch)
    for k, v in agent.critic.encoder.state_dict().items():
        assert torch.equal(v, encoder_before[k]), f"actor update changed encoder {k}"

    agent.update(batch)
    after = agent.state_dict()
    for prefix in ("critic.encoder.cnn", "critic.q", "actor.net", "log_alpha"):
        changed = [k for k in after if k.startswith(prefix) and not torch.equal(after[k], before[k])]
        assert changed, f"nothing under {prefix} was trained"
    # targets move only by Polyak averaging: a small step towards the online critic
    for k in after:
        if k.startswith("target_critic.") and after[k].is_floating_point():
            online = after[k.replace("target_critic.", "critic.")]
            expected = before[k] + agent.cfg.tau * (online - before[k])
            assert torch.allclose(after[k], expected, atol=1e-6), k


def test_critic_loss_falls_on_a_fixed_batch() -> None:
    agent, spec = make_agent(augment_pad=0)
    batch = filled_buffer(spec).sample(32, np.random.default_rng(0))
    first = agent.update(batch)["train/critic_loss"]
    for _ in range(30):
        last = agent.update(batch)["train/critic_loss"]
    assert last < 0.5 * first


def test_resume_gives_the_same_next_update(tmp_path) -> None:
    agent, spec = make_agent(seed=3)
    buffer = filled_buffer(spec)
    rng = np.random.default_rng(7)
    for _ in range(3):
        agent.update(buffer.sample(16, rng))
    state = {"numpy_rng": rng.bit_generator.state, "torch_generator": agent.generator.get_state().tolist()}
    save_checkpoint(tmp_path / "ckpt", agent, agent.optimizers(), {"online": buffer}, state, "x: 1\n")

    # the uninterrupted run's next update
    expected = agent.update(buffer.sample(16, rng))
    expected_weights = copy.deepcopy(agent.state_dict())

    resumed, _ = make_agent(seed=99)  # different init and RNG: everything must come from the checkpoint
    resumed_buffer = ReplayBuffer(spec.storage_spaces(), 2, capacity=buffer.capacity, n_step=2, gamma=0.9)
    loaded = load_checkpoint(tmp_path / "ckpt", resumed, resumed.optimizers(), {"online": resumed_buffer})
    rng2 = np.random.default_rng()
    rng2.bit_generator.state = loaded["numpy_rng"]
    resumed.generator.set_state(torch.tensor(loaded["torch_generator"], dtype=torch.uint8))
    got = resumed.update(resumed_buffer.sample(16, rng2))

    assert got == pytest.approx(expected, rel=1e-6, abs=1e-7)
    for k, v in resumed.state_dict().items():
        assert torch.allclose(v, expected_weights[k], atol=1e-7), k


def test_broken_checkpoint_raises_instead_of_starting_fresh(tmp_path) -> None:
    agent, _ = make_agent()
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope", agent)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "agent.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "bad", agent)


def test_a_save_killed_while_replacing_a_checkpoint_leaves_a_whole_one(tmp_path, monkeypatch) -> None:
    agent, spec = make_agent()
    buffer = filled_buffer(spec)
    ckpt = tmp_path / "final"
    save_checkpoint(ckpt, agent, agent.optimizers(), {"online": buffer}, {"step": 1}, "a: 1\n")
    (tmp_path / "final.tmp").mkdir()
    (tmp_path / "final.tmp" / "replay_stale.npz").write_bytes(b"a killed save's leftover")
    renames = []

    def killed_at_the_second_rename(self, target):
        renames.append(target)
        if len(renames) == 2:
            raise KeyboardInterrupt  # the process dies between moving the old one aside and the new one in
        return original(self, target)

    original = type(ckpt).rename
    monkeypatch.setattr(type(ckpt), "rename", killed_at_the_second_rename)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(ckpt, agent, agent.optimizers(), {"online": buffer}, {"step": 2}, "a: 1\n")
    monkeypatch.undo()
    whole = r"final\.old holds the one before; rename it \(or \S+final\.tmp, the whole new one\)"
    with pytest.raises(CheckpointError, match=whole):
        load_checkpoint(ckpt, agent)
    assert load_checkpoint(tmp_path / "final.old", agent) == {"step": 1}  # whole, not half-deleted
    save_checkpoint(ckpt, agent, agent.optimizers(), {"online": buffer}, {"step": 3}, "a: 1\n")
    assert load_checkpoint(ckpt, agent) == {"step": 3}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["final"]  # no stale .tmp files carried in
    assert not (ckpt / "replay_stale.npz").exists()


def test_deterministic_act_is_repeatable_and_bounded() -> None:
    agent, _ = make_agent()
    obs = {"state.pos": np.zeros(3, np.float32), "images.front": np.zeros((32, 32, 3), np.uint8)}
    a, b = agent.act(obs, deterministic=True), agent.act(obs, deterministic=True)
    assert np.array_equal(a, b) and np.all(np.abs(a) <= 1.0)


def test_bc_term_pulls_policy_mean_towards_demo_actions() -> None:
    agent, spec = make_agent(bc_weight=10.0, augment_pad=0, actor_lr=1e-3)
    buffer = filled_buffer(spec)
    buffer.demos = True
    batch = buffer.sample(32, np.random.default_rng(0))
    target = torch.full_like(batch.actions, 0.5)
    batch = dataclasses.replace(batch, actions=target)
    first = agent.update(batch)["train/bc_loss"]
    for _ in range(150):
        last = agent.update(batch)["train/bc_loss"]
    features = agent.critic.encoder(batch.obs)
    mean_action, _ = agent.actor(features.detach(), deterministic=True)
    assert last < 0.1 * first
    assert torch.allclose(mean_action, target, atol=0.15)


def test_pretrained_encoder_loads_from_a_local_file_and_can_be_frozen(tmp_path) -> None:
    from safetensors.torch import save_file

    source, _ = make_agent(seed=1)
    path = tmp_path / "encoder.safetensors"
    save_file({k: v.contiguous() for k, v in source.critic.encoder.cnn.state_dict().items()}, str(path))
    agent, spec = make_agent(seed=2, pretrained_encoder=str(path), freeze_encoder=True)
    for k, v in agent.critic.encoder.cnn.state_dict().items():
        assert torch.equal(v, source.critic.encoder.cnn.state_dict()[k])
    before = copy.deepcopy(agent.critic.encoder.state_dict())
    buffer, rng = filled_buffer(spec), np.random.default_rng(0)
    for _ in range(3):  # the actor's update in between must not unfreeze it
        agent.update(buffer.sample(16, rng))
    for k, v in agent.critic.encoder.state_dict().items():
        assert torch.equal(v, before[k]), "a frozen encoder changed"
    assert all(p.grad is None and not p.requires_grad for p in agent.critic.encoder.parameters())
    with pytest.raises(FileNotFoundError, match="local files"):
        make_agent(pretrained_encoder=str(tmp_path / "missing.safetensors"))


def test_gripper_critic_picks_discrete_commands_and_learns_the_rewarded_one() -> None:
    """One-step episodes where only 'close' (+1) is rewarded: the DQN must come to prefer it."""
    agent, spec = make_agent(gripper_critic=True, gripper_epsilon=0.0, augment_pad=0)
    assert agent.actor.net[-1].out_features == 2 * 1  # SAC handles only the non-gripper dim
    buffer = ReplayBuffer(spec.storage_spaces(), 2, capacity=200, n_step=1, gamma=0.9)
    rng = np.random.default_rng(0)
    for t in range(120):
        obs = {
            "state.pos": rng.uniform(-1, 1, 3).astype(np.float32),
            "images.front": np.zeros((32, 32, 3), np.uint8),
        }
        command = [-1.0, 0.0, 1.0][t % 3]
        buffer.add(obs, np.array([0.0, command]), float(command == 1.0), obs, True, False)
    action = agent.act(obs, deterministic=True)
    assert action.shape == (2,) and action[1] in (-1.0, 0.0, 1.0)
    for _ in range(150):
        metrics = agent.update(buffer.sample(32, rng))
    assert "train/gripper_critic_loss" in metrics and "gripper" in agent.optimizers()
    assert all(agent.act(obs, deterministic=True)[1] == 1.0 for _ in range(3))


def test_gripper_stay_repeats_the_last_command() -> None:
    from robot_rl.envs.wrappers import GripperStay

    class Recorder(gym.Env):
        observation_space = gym.spaces.Box(-1, 1, (1,), np.float32)
        action_space = gym.spaces.Box(-1, 1, (2,), np.float32)
        sent: list[float] = []

        def reset(self, *, seed=None, options=None):
            return np.zeros(1, np.float32), {}

        operator: float | None = None  # the gripper command of an operator who takes over

        def step(self, action):
            if self.operator is None:
                self.sent.append(float(action[-1]))
                return np.zeros(1, np.float32), 0.0, False, False, {}
            self.sent.append(self.operator)
            info = {"is_intervention": True, "intervene_action": np.array([0.0, self.operator], np.float32)}
            return np.zeros(1, np.float32), 0.0, False, False, info

    env = GripperStay(Recorder())
    env.reset()
    for command in (0.0, 1.0, 0.0, 0.0, -1.0, 0.0):
        env.step(np.array([0.0, command], np.float32))
    assert env.unwrapped.sent == [-1.0, 1.0, 1.0, 1.0, -1.0, -1.0]
    env.unwrapped.operator = 1.0  # the operator closes the gripper on the object, then hands back
    env.step(np.array([0.0, 0.0], np.float32))
    env.unwrapped.operator = None
    env.step(np.array([0.0, 0.0], np.float32))  # the policy's "stay" keeps it closed
    assert env.unwrapped.sent[-2:] == [1.0, 1.0]
