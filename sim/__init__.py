"""Simulated arms and tasks (MuJoCo primary, PyBullet second) behind robot_rl's one env interface."""

import os

# Headless by default: without a display, MuJoCo renders offscreen through EGL (Mesa llvmpipe on CPU).
if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
    os.environ.setdefault("MUJOCO_GL", "egl")
    os.environ.setdefault("PYOPENGL_PLATFORM", os.environ["MUJOCO_GL"])
