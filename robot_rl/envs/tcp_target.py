"""Turning a normalised delta action into a TCP pose target: shared by every arm backend.

Position: measured TCP position + ``action_scale[0]`` * delta, clipped to the workspace box, so a
blocked arm never winds up. Orientation: the previous *target* rotated by ``action_scale[1]`` * delta
(base frame), clipped to an orientation box around the home orientation, so a zero rotation command
holds the orientation against contact torques.
"""

from __future__ import annotations

import numpy as np

from robot_rl.geometry import quat_error, quat_from_rotvec, quat_mul


class TcpTarget:
    """:param workspace_low, workspace_high: position box [m], base frame.
    :param home_quat: reference orientation (wxyz) of the orientation box.
    :param rotation_limit: orientation box, rotation vector from ``home_quat`` per base axis [rad].
    """

    def __init__(
        self,
        action_scale: np.ndarray,
        workspace_low: np.ndarray,
        workspace_high: np.ndarray,
        home_quat: np.ndarray,
        rotation_limit: np.ndarray,
    ) -> None:
        self.action_scale = np.asarray(action_scale, dtype=np.float64)
        self.low, self.high = np.asarray(workspace_low), np.asarray(workspace_high)
        self.home_quat = np.asarray(home_quat, dtype=np.float64)
        self.rotation_limit = np.asarray(rotation_limit, dtype=np.float64)
        self.quat = self.home_quat.copy()

    def reset(self, measured_quat: np.ndarray) -> None:
        self.quat = np.asarray(measured_quat, dtype=np.float64).copy()

    def __call__(self, measured_pos: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(target position, target quaternion) for a clipped 7-D action."""
        pos = np.clip(measured_pos + self.action_scale[0] * action[:3], self.low, self.high)
        quat = quat_mul(quat_from_rotvec(self.action_scale[1] * action[3:6]), self.quat)
        offset = np.clip(quat_error(quat, self.home_quat), -self.rotation_limit, self.rotation_limit)
        self.quat = quat_mul(quat_from_rotvec(offset), self.home_quat)
        return pos, self.quat
