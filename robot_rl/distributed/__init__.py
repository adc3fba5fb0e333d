"""Actor and learner as separate processes over ``robot_rl.transport`` (no ROS here; nodes wrap these)."""
