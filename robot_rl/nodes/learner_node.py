"""learner_node: the SAC/RLPD learner behind the transport server.

Publishes training stats as ``diagnostic_msgs/DiagnosticArray`` on ``/diagnostics`` once a second and
offers ``~/save_checkpoint`` (``std_srvs/Trigger``). Exits when ``train.total_env_steps`` are consumed,
after writing the usual run folder (curve, video, checkpoint, summary.json).
"""

from __future__ import annotations

import time
from pathlib import Path

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from omegaconf import OmegaConf
from rclpy.node import Node
from std_srvs.srv import Trigger

from robot_rl.commands.train import trainer_from_config
from robot_rl.distributed.learner import Learner
from robot_rl.nodes.common import read_settings, run_node
from robot_rl.transport.keys import CurveKeys
from robot_rl.transport.learner_server import LearnerServer


def body(node: Node) -> int:
    settings = read_settings(node)
    cfg = settings.cfg
    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    trainer = trainer_from_config(cfg, OmegaConf.to_yaml(cfg, resolve=True), with_operator=False)
    keys = CurveKeys.learner(settings.keys) if settings.keys else None
    server = LearnerServer(settings.endpoint, keys=keys)
    learner = Learner(trainer, server)
    diagnostics = node.create_publisher(DiagnosticArray, "/diagnostics", 10)

    def save(_request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        response.message = str(trainer.save(f"manual_{trainer.env_steps:07d}"))
        response.success = True
        return response

    node.create_service(Trigger, "~/save_checkpoint", save)
    last_published = 0.0

    def on_idle() -> None:
        nonlocal last_published
        import rclpy

        rclpy.spin_once(node, timeout_sec=0.0)
        if time.monotonic() - last_published >= 1.0:
            last_published = time.monotonic()
            diagnostics.publish(_diagnostics(node, trainer, server))

    node.get_logger().info(f"learner on {server.endpoint}, run folder {run_dir}")
    try:
        summary = learner.run(on_idle=on_idle)
    finally:
        server.close()
    node.get_logger().info(
        f"success rate {summary['success_rate']:.0%} after {summary['env_steps']} env steps in "
        f"{summary['wall_time_s'] / 60:.1f} min; curve {summary['learning_curve']}, "
        f"video {summary['video']}, checkpoint {summary['checkpoint']}, "
        f"safety events {summary['safety_events'] or 'none'}"
    )
    return 0


def _diagnostics(node: Node, trainer, server: LearnerServer) -> DiagnosticArray:
    last_eval = trainer.history[-1]["success_rate"] if trainer.history else float("nan")
    values = {
        "env_steps": trainer.env_steps,
        "updates": trainer.agent.num_updates,
        "replay_transitions": len(trainer.online),
        "live_actors": ",".join(server.live_actors()),
        "eval_success_rate": last_eval,
        "weights_version": server.weights_version,
    }
    status = DiagnosticStatus(name="robot_rl/learner", hardware_id="learner", level=DiagnosticStatus.OK)
    status.message = f"{trainer.env_steps} env steps"
    status.values = [KeyValue(key=k, value=str(v)) for k, v in values.items()]
    msg = DiagnosticArray(status=[status])
    msg.header.stamp = node.get_clock().now().to_msg()
    return msg


def main() -> int:
    return run_node("learner", body)


if __name__ == "__main__":
    raise SystemExit(main())
