"""Menagerie-style model checks: every scene compiles, steps 1 s under fixed control, raises no warning."""

from __future__ import annotations

from pathlib import Path

import mujoco
import numpy as np
import pytest

from sim.panda_env import ASSETS, HOME_QPOS

INCLUDED_ONLY = ("panda.xml", "scene_common.xml")  # pieces included by scenes, not scenes themselves
SCENES = sorted(p.name for p in (ASSETS / "panda").glob("*.xml") if p.name not in INCLUDED_ONLY)


def test_scenes_found() -> None:
    assert {"pick_cube.xml", "peg_insert.xml"} <= set(SCENES)


@pytest.mark.parametrize("scene", SCENES)
def test_scene_compiles_and_steps_without_warnings(scene: str) -> None:
    model = mujoco.MjModel.from_xml_path(str(Path(ASSETS) / "panda" / scene))
    assert model.opt.timestep <= 0.005
    data = mujoco.MjData(model)
    arm = [model.joint(f"joint{i}").qposadr[0] for i in range(1, 8)]
    data.qpos[arm] = HOME_QPOS
    data.ctrl[:7] = HOME_QPOS
    mujoco.mj_forward(model, data)
    for _ in range(int(1.0 / model.opt.timestep)):
        mujoco.mj_step(model, data)
    warnings = [mujoco.mjtWarning(i).name for i, w in enumerate(data.warning) if w.number]
    assert not warnings, warnings
    # Holding the home posture: the position servos (with gravity compensation) keep it within 1 mrad.
    np.testing.assert_allclose(data.qpos[arm], HOME_QPOS, atol=1e-3)


def test_arm_has_no_self_contact_at_home() -> None:
    model = mujoco.MjModel.from_xml_path(str(Path(ASSETS) / "panda" / "pick_cube.xml"))
    data = mujoco.MjData(model)
    data.qpos[[model.joint(f"joint{i}").qposadr[0] for i in range(1, 8)]] = HOME_QPOS
    mujoco.mj_forward(model, data)
    robot = {model.body(n).id for n in ["link0", *[f"link{i}" for i in range(1, 8)], "hand"]}
    pairs = [
        (model.body(model.geom_bodyid[c.geom1]).name, model.body(model.geom_bodyid[c.geom2]).name)
        for c in data.contact[: data.ncon]
        if model.geom_bodyid[c.geom1] in robot and model.geom_bodyid[c.geom2] in robot
    ]
    assert not pairs, pairs
