"""robot-rl launch with real processes: the launcher runs as a subprocess on tiny Python nodes installed
into a fake ament prefix (tmp_path/lib/<pkg>/<exec>); the tests signal it by PID and check, by the PIDs the
nodes wrote, that nothing it started is left running.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.launch_prefix import PKG, write

# A real rclpy node that reports its fully qualified name, a publisher's resolved topic and its parameters.
PROBE = """#!{python}
import json, sys
import rclpy
from rclpy.node import Node
from std_msgs.msg import String
rclpy.init(args=sys.argv)
node = Node("probe", automatically_declare_parameters_from_overrides=True)
topic = node.create_publisher(String, "chatter", 10).topic_name
wanted = ("rate_hz", "limits.max", "gain")
params = {{n: p.value for n, p in node.get_parameters_by_prefix("").items() if n in wanted}}
print(json.dumps({{"fqn": node.get_fully_qualified_name(), "topic": topic, "params": params}}), flush=True)
node.destroy_node()
rclpy.shutdown()
"""


# -- the runner, with real processes ------------------------------------------------------------------
def running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")  # a zombie runs no more


def pids(out: Path, pattern: str) -> list[int]:
    return sorted(int(p.stem.rsplit("-", 1)[1]) for p in out.glob(pattern))


def start_launcher(tmp_path: Path, text: str, *args: str, via_cli: bool = False) -> subprocess.Popen:
    path = write(tmp_path / "run.launch.yaml", text)
    module = ["robot_rl.cli", "launch"] if via_cli else ["robot_rl.commands.launch"]
    env = {
        **os.environ,
        "ROS_LOG_DIR": str(tmp_path / "log"),
        "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",  # DDS stays on loopback, a domain per test
        "ROS_DOMAIN_ID": str(random.randint(1, 100)),
    }
    return subprocess.Popen(
        [sys.executable, "-m", *module, str(path), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen, timeout_s: float = 20) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"launcher did not finish in {timeout_s} s:\n{out}\n{err}")
    return proc.returncode, out, err


def wait_for(predicate, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_sigint_stops_every_node_and_leaves_no_orphans(prefix: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    launcher = start_launcher(
        tmp_path,
        f"""\
        launch:
          - node: {{pkg: {PKG}, exec: node, name: talker, exec_name: talker, args: loop, output: screen}}
          - node: {{pkg: {PKG}, exec: node, name: stubborn, args: ignore-int, sigterm_timeout: 0.5}}
        """,
        via_cli=True,  # the real entry point: python -m robot_rl.cli launch FILE
    )
    try:
        wait_for(lambda: len(list(out.glob("*.pid"))) == 3)  # two nodes and the talker's grandchild
        launcher.send_signal(signal.SIGINT)
        code, stdout, stderr = finish(launcher)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
    assert code == 0, stderr
    assert "[talker-1] hello from talker" in stdout
    (talker,) = pids(out, "talker-[0-9]*.pid")
    assert (out / f"talker-{talker}.sigint").exists()  # SIGINT first, as ros2 launch
    assert "failed to terminate '0.5' seconds after receiving 'SIGINT', escalating to 'SIGTERM'" in stderr
    every = [*pids(out, "*.pid")]
    assert len(every) == 3 and not [pid for pid in every if running(pid)]
    launch_log = next((tmp_path / "log").glob("*/launch.log")).read_text()
    assert "[node-1] hello from stubborn" in launch_log and "stubborn" not in stdout  # output: log


def test_respawn_restarts_after_the_delay_up_to_max_retries(prefix: Path, tmp_path: Path) -> None:
    launcher = start_launcher(
        tmp_path,
        f"""\
        launch:
          - node:
              pkg: {PKG}
              exec: node
              name: flaky
              args: "exit:3:0"
              respawn: 'true'
              respawn_delay: 0.2
              respawn_max_retries: 2
        """,
    )
    start = time.monotonic()
    code, _, stderr = finish(launcher)
    assert code == 0, stderr
    assert len(pids(tmp_path / "out", "flaky-*.pid")) == 3  # the first run and two respawns
    assert time.monotonic() - start > 0.4 and stderr.count("respawning in 0.2 s") == 2


def test_a_required_node_exiting_stops_the_others(prefix: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    launcher = start_launcher(
        tmp_path,
        f"""\
        launch:
          - node: {{pkg: {PKG}, exec: node, name: worker, args: loop}}
          - node: {{pkg: {PKG}, exec: node, name: boss, args: "exit:4:0.5", on_exit: shutdown}}
        """,
    )
    code, _, stderr = finish(launcher)
    assert code == 1, stderr  # a required node that failed fails the launch
    assert "required node node-2 exited (on_exit: shutdown)" in stderr
    (worker,) = pids(out, "worker-[0-9]*.pid")
    assert (out / f"worker-{worker}.sigint").exists()
    assert not [pid for pid in pids(out, "*.pid") if running(pid)]


def test_a_required_node_that_cannot_start_starts_no_others(prefix: Path, tmp_path: Path) -> None:
    broken = prefix / "lib" / PKG / "broken"
    broken.write_text("#!/nonexistent/interpreter\n")  # exec fails: OSError in the launcher
    broken.chmod(0o755)
    launcher = start_launcher(
        tmp_path,
        f"""\
        launch:
          - node: {{pkg: {PKG}, exec: broken, name: driver, on_exit: shutdown}}
          - node: {{pkg: {PKG}, exec: node, name: worker, args: loop}}
        """,
    )
    code, _, stderr = finish(launcher)
    assert code == 1 and "could not start" in stderr, stderr
    assert "process started" not in stderr, "a node was started after the launch had failed"


@pytest.mark.ros
@pytest.mark.skipif(importlib.util.find_spec("rclpy") is None, reason="needs the ROS 2 wheels (rclpy)")
def test_a_real_rclpy_node_gets_its_name_namespace_params_and_remaps(prefix: Path, tmp_path: Path) -> None:
    probe = prefix / "lib" / PKG / "probe"
    probe.write_text(PROBE.format(python=sys.executable))
    probe.chmod(0o755)
    params = write(tmp_path / "p.yaml", "/**:\n  ros__parameters:\n    gain: 2.5\n")
    launcher = start_launcher(
        tmp_path,
        f"""\
        launch:
          - arg: {{name: rate, default: '10'}}
          - group:
              - push_ros_namespace: {{namespace: robot}}
              - node:
                  pkg: {PKG}
                  exec: probe
                  name: actor
                  namespace: arm
                  output: screen
                  param:
                    - {{name: rate_hz, value: $(var rate)}}
                    - {{name: limits, param: [{{name: max, value: [1.0, 2.0]}}]}}
                    - {{from: {params}}}
                  remap: [{{from: chatter, to: /robot/talk}}]
        """,
        "rate:=20",
    )
    code, stdout, stderr = finish(launcher)
    assert code == 0, stderr
    report = next(line for line in stdout.splitlines() if line.startswith("[probe-1] {"))
    assert json.loads(report.split(" ", 1)[1]) == {
        "fqn": "/robot/arm/actor",
        "topic": "/robot/talk",
        "params": {"rate_hz": 20, "limits.max": [1.0, 2.0], "gain": 2.5},
    }
