"""robot-rl launch: the YAML launch subset read with ros2 launch's rules, and real processes supervised.

The runner tests start the launcher itself as a subprocess on tiny Python nodes installed into a fake
ament prefix (tmp_path/lib/<pkg>/<exec>), signal it by PID and check, by the PIDs the nodes wrote, that
nothing it started is left running.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from robot_rl.commands.launch import main as launch_main
from robot_rl.launch import LaunchError, declared_args, resolve
from robot_rl.launch.substitutions import Context, evaluate, parse_template

PKG = "fake_pkg"

# A node: writes <out>/<name>-<pid>.pid (its argv), prints a line, then acts out its first argument:
# loop (exit 0 on SIGINT), ignore-int (only SIGTERM ends it), exit:<code>:<delay_s>.
NODE = """#!{python}
import os, signal, subprocess, sys, time
from pathlib import Path
out = Path({out!r})
name = next((a.split(":=", 1)[1] for a in sys.argv if a.startswith("__node:=")), "anon")
(out / f"{{name}}-{{os.getpid()}}.pid").write_text(" ".join(sys.argv[1:]))
print(f"hello from {{name}}", flush=True)
mode = sys.argv[1]
if mode.startswith("exit:"):
    _, code, delay = mode.split(":")
    time.sleep(float(delay))
    sys.exit(int(code))
if mode == "loop":
    child = subprocess.Popen(["sleep", "30"])  # a grandchild the node never cleans up
    (out / f"{{name}}-grandchild-{{child.pid}}.pid").write_text("")
    def on_int(signum, frame):
        (out / f"{{name}}-{{os.getpid()}}.sigint").write_text("")
        os._exit(0)
    signal.signal(signal.SIGINT, on_int)
if mode == "ignore-int":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    time.sleep(0.05)
"""


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


@pytest.fixture
def prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake ament prefix with package fake_pkg, executable `node`, and AMENT_PREFIX_PATH set to it."""
    root = tmp_path / "prefix"
    (root / "share/ament_index/resource_index/packages").mkdir(parents=True)
    (root / "share/ament_index/resource_index/packages" / PKG).touch()
    (root / "share" / PKG).mkdir()
    (root / "lib" / PKG).mkdir(parents=True)
    node = root / "lib" / PKG / "node"
    (tmp_path / "out").mkdir()
    node.write_text(NODE.format(python=sys.executable, out=str(tmp_path / "out")))
    node.chmod(0o755)
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(root))
    return root


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def nodes_of(tmp_path: Path, text: str, **launch_args: str):
    return resolve(write(tmp_path / "t.launch.yaml", text), launch_args, tmp_path)


def params_of(path: str) -> dict:
    return yaml.safe_load(Path(path).read_text())


# -- substitutions and parsing ----------------------------------------------------------------------
def test_substitutions_var_env_find_pkg_share_dirname_nested(prefix: Path, tmp_path: Path) -> None:
    ctx = Context({"pkg": PKG, "n": "3"}, tmp_path / "a.launch.yaml", {"HOME_X": "/h"})
    cases = {
        "$(var n)": "3",
        "$(var missing fallback)": "fallback",
        "$(env HOME_X)/x": "/h/x",
        "$(env NOPE 'de fault')": "de fault",
        "[$(optenv NOPE)]": "[]",
        "$(find-pkg-share $(var pkg))/cfg": f"{prefix}/share/{PKG}/cfg",
        "$(find-pkg-prefix fake_pkg)": str(prefix),
        "$(dirname)": str(tmp_path),
        "$(eval '$(var n) * 2')": "6",
        "$(not $(equals $(var n) 3))": "false",
        r"costs \$(var n) $5": "costs $(var n) $5",
    }
    for text, expected in cases.items():
        assert evaluate(parse_template(text), ctx) == expected, text
    for text, message in {
        "$(var nope)": "launch configuration 'nope' does not exist",
        "$(env NOPE)": "environment variable 'NOPE' does not exist",
        "$(find-pkg-share no_such_pkg)": "package 'no_such_pkg' not found",
        "$(frobnicate x)": "Unknown substitution: frobnicate",
        "$(var x": "invalid substitution syntax",
    }.items():
        with pytest.raises(LaunchError, match=message.replace("(", r"\(")):
            evaluate(parse_template(text), ctx)


def test_node_command_line_is_launch_ros_s(prefix: Path, tmp_path: Path) -> None:
    params = write(tmp_path / "p.yaml", "/**:\n  ros__parameters:\n    gain: 2.0\n")
    (node,) = nodes_of(
        tmp_path,
        f"""\
        launch:
          - arg: {{name: rate, default: '10'}}
          - group:
              children:
                - push_ros_namespace: {{namespace: robot}}
                - node:
                    pkg: {PKG}
                    exec: node
                    name: actor
                    namespace: arm
                    args: "loop --verbose $(var rate)"
                    param:
                      - {{name: rate_hz, value: $(var rate)}}
                      - {{name: frame, value: base}}
                      - {{name: limits, param: [{{name: max, value: [1.0, 2.0]}}]}}
                      - {{from: {params}}}
                    remap:
                      - {{from: joint_states, to: /robot/joint_states}}
        """,
    )
    inline = node.params_files[:3]
    assert node.cmd == [
        f"{prefix}/lib/{PKG}/node", "loop", "--verbose", "10",
        "--ros-args", "-r", "__node:=actor", "-r", "__ns:=/robot/arm",
        "--params-file", inline[0], "--params-file", inline[1], "--params-file", inline[2],
        "--params-file", str(params),
        "-r", "joint_states:=/robot/joint_states",
    ]  # fmt: skip
    assert node.label == "node-1" and node.namespace == "/robot/arm" and node.output == "log"
    # One file per param entry, keyed by the fully qualified node name, as launch_ros writes them.
    assert params_of(inline[0]) == {"/robot/arm/actor": {"ros__parameters": {"rate_hz": 10}}}
    assert params_of(inline[1]) == {"/robot/arm/actor": {"ros__parameters": {"frame": "base"}}}
    assert params_of(inline[2]) == {"/robot/arm/actor": {"ros__parameters": {"limits.max": [1.0, 2.0]}}}


def test_param_values_are_typed_like_launch(prefix: Path, tmp_path: Path) -> None:
    (node,) = nodes_of(
        tmp_path,
        f"""\
        launch:
          - let: {{name: list, value: '[2, 5, 8]'}}
          - node:
              pkg: {PKG}
              exec: node
              param:
                - {{name: a, value: 5}}
                - {{name: b, value: '5'}}
                - {{name: c, value: $(var list)}}
                - {{name: d, value: '$(var list)', type: str}}
                - {{name: e, value: ['x', 'y']}}
                - {{name: f, value: 'true'}}
                - {{name: g, value: $(var flag)}}
        """,
        flag="true",
    )
    values = {}
    for path in node.params_files:
        ((key, body),) = params_of(path).items()
        assert key == "/**"  # no name and namespace: launch_ros's wildcard
        values.update(body["ros__parameters"])
    assert values == {
        "a": 5,
        "b": "5",
        "c": [2, 5, 8],
        "d": "[2, 5, 8]",
        "e": ["x", "y"],
        "f": "true",
        "g": True,
    }
    assert node.cmd[-1] == node.params_files[-1] and "__ns:=" not in " ".join(node.cmd)


def test_namespaces_push_scope_and_absolute(prefix: Path, tmp_path: Path) -> None:
    nodes = nodes_of(
        tmp_path,
        f"""\
        launch:
          - group:
              - push-ros-namespace: {{namespace: /r1}}
              - node: {{pkg: {PKG}, exec: node, name: a}}
              - node: {{pkg: {PKG}, exec: node, name: b, namespace: /abs}}
          - node: {{pkg: {PKG}, exec: node, name: c}}
          - group:
              scoped: false
              children:
                - push_ros_namespace: {{namespace: leaked}}
          - node: {{pkg: {PKG}, exec: node, name: d, namespace: sub/}}
        """,
    )
    assert [(n.name, n.namespace, n.label) for n in nodes] == [
        ("a", "/r1", "node-1"),
        ("b", "/abs", "node-2"),
        ("c", None, "node-3"),
        ("d", "/leaked/sub", "node-4"),
    ]


def test_include_passes_args_and_conditions(prefix: Path, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    write(
        tmp_path / "sub/child.launch.yaml",
        f"""\
        launch:
          - arg: {{name: robot, description: which robot}}
          - let: {{name: child_dir, value: $(dirname)}}
          - node: {{pkg: {PKG}, exec: node, name: $(var robot), if: $(var use_child)}}
          - node: {{pkg: {PKG}, exec: node, name: never, unless: $(var use_child)}}
        """,
    )
    parent = f"""\
        launch:
          - arg: {{name: use_child, default: 'true'}}
          - include:
              file: $(dirname)/sub/child.launch.yaml
              arg: [{{name: robot, value: panda}}]
          - node: {{pkg: {PKG}, exec: node, name: after, namespace: $(var robot), args: $(var child_dir)}}
        """
    nodes = nodes_of(tmp_path, parent)
    assert [(n.name, n.namespace) for n in nodes] == [("panda", None), ("after", "/panda")]
    # The include's args and the included file's `let` stay set after it (launch's includes are
    # not scoped), and $(dirname) is the included file's folder inside it.
    assert nodes[1].cmd[1] == str(tmp_path / "sub")
    assert nodes_of(tmp_path, parent, use_child="false")[0].name == "never"
    missing = parent.replace("arg: [{name: robot, value: panda}]", "arg: [{name: other, value: x}]")
    with pytest.raises(
        LaunchError, match=r"missing required argument 'robot' \(description: 'which robot'\)"
    ):
        nodes_of(tmp_path, missing)


@pytest.mark.parametrize(
    ("entity", "message"),
    [
        ("- node: {pkg: fake_pkg, exec: node, foo: 1}", "Unexpected key(s) found in `node`: {'foo'}"),
        (
            "- node: {exec: node, param: [{name: a, value: 1, bad: 2}]}",
            "Unexpected key(s) found in `param`: {'bad'}",
        ),
        (
            "- node: {exec: node, remap: [{from: a, to: b, via: c}]}",
            "Unexpected key(s) found in `remap`: {'via'}",
        ),
        ("- node: {exec: node, condition: x}", "Unexpected key(s) found in `node`: {'condition'}"),
        ("- group: {children: [], namespace: x}", "Unexpected key(s) found in `group`: {'namespace'}"),
        (
            "- push_ros_namespace: {namespace: a, ns: b}",
            "Unexpected key(s) found in `push_ros_namespace`: {'ns'}",
        ),
        ("- include: {file: x.launch.yaml, args: []}", "Unexpected key(s) found in `include`: {'args'}"),
        ("- arg: {name: a, default: 5}", "Attribute 'default' of Entity 'arg' expected to be of type 'str'"),
        (
            "- node: {exec: node, respawn: true}",
            "Attribute 'respawn' of Entity 'node' expected to be of type 'str'",
        ),
        ("- node: {exec: node, respawn_delay: 1}", "write it as a float: respawn_delay: 1.0"),
        ("- node: {exec: node, on_exit: restart}", "on_exit of Entity node expected to be shutdown"),
        ("- nodes: {exec: node}", "Unrecognized entity of the type: nodes"),
        (
            "- set_env: {name: A, value: b}",
            "`set_env` is a ros2 launch entity that robot-rl launch does not run",
        ),
        ("- node: {pkg: fake_pkg}", "Can not find attribute 'exec' in Entity 'node'"),
    ],
)
def test_unknown_keys_are_rejected_like_ros2_launch(tmp_path: Path, entity: str, message: str) -> None:
    path = write(tmp_path / "bad.launch.yaml", f"launch:\n  {entity}\n")
    with pytest.raises(LaunchError) as err:
        resolve(path, {}, tmp_path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_unknown_key_in_a_disabled_group_is_still_an_error(tmp_path: Path) -> None:
    path = write(
        tmp_path / "bad.launch.yaml", "launch:\n  - group: {if: 'false', children: [node: {exec: x, y: 1}]}\n"
    )
    with pytest.raises(
        LaunchError, match=r"\(launch\[0\]\.group\.children\[0\]\.node\): Unexpected key\(s\)"
    ):
        resolve(path, {}, tmp_path)


def test_errors_at_run_time_name_the_file_and_the_include_chain(tmp_path: Path) -> None:
    inner = write(tmp_path / "inner.launch.yaml", "launch:\n  - node: {exec: x, name: $(var nope)}\n")
    outer = write(
        tmp_path / "outer.launch.yaml", "launch:\n  - include: {file: $(dirname)/inner.launch.yaml}\n"
    )
    with pytest.raises(LaunchError) as err:
        resolve(outer, {}, tmp_path)
    assert str(err.value) == (
        f"{outer} (launch[0].include): {inner} (launch[0].node): launch configuration 'nope' does not exist; "
        "declare it with an `arg` (or `let`) or pass nope:=<value>"
    )


def test_required_args_choices_and_executable_lookup(prefix: Path, tmp_path: Path) -> None:
    text = f"""\
        launch:
          - arg: {{name: mode, description: how to run, choice: [{{value: sim}}, {{value: real}}]}}
          - node: {{pkg: {PKG}, exec: $(var exe)}}
        """
    with pytest.raises(LaunchError, match=r'Required launch argument "mode" .*pass it as mode:=<value>'):
        nodes_of(tmp_path, text, exe="node")
    with pytest.raises(LaunchError, match=r"Valid options are: \['sim', 'real'\]"):
        nodes_of(tmp_path, text, mode="fake", exe="node")
    # Not in <prefix>/lib/<pkg>: the venv's bin (pip console scripts), then PATH.
    assert nodes_of(tmp_path, text, mode="sim", exe="python")[0].cmd[0] == str(
        Path(sys.executable).parent / "python"
    )
    with pytest.raises(
        LaunchError, match=f"executable 'nope' not found on the libexec directory '{prefix}/lib/{PKG}'"
    ):
        nodes_of(tmp_path, text, mode="sim", exe="nope")


def test_cli_show_args_print_and_bad_arguments(prefix: Path, tmp_path: Path, capsys) -> None:
    path = write(
        tmp_path / "t.launch.yaml",
        f"""\
        launch:
          - arg: {{name: robot, default: panda, description: the arm to drive}}
          - arg: {{name: seed}}
          - node: {{pkg: {PKG}, exec: node, name: $(var robot), respawn: 'true', on_exit: shutdown}}
        """,
    )
    assert launch_main([str(path), "--show-args"]) == 0
    out = capsys.readouterr().out
    assert "'robot':\n        the arm to drive\n        (default: 'panda')" in out and "'seed':" in out
    assert [a.name for a, _ in declared_args(path)] == ["robot", "seed"]
    assert launch_main([str(path), "seed:=1", "robot:=ur5", "--print"]) == 0
    out = capsys.readouterr().out
    assert (
        f"{prefix}/lib/{PKG}/node --ros-args -r __node:=ur5" in out and "required (on_exit: shutdown)" in out
    )
    assert launch_main([str(path), "--print"]) == 2
    assert 'Required launch argument "seed"' in capsys.readouterr().err
    assert launch_main([str(path), "seed=1"]) == 2
    assert "malformed launch argument 'seed=1'" in capsys.readouterr().err
    assert launch_main([str(tmp_path / "none.launch.yaml")]) == 2


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
