"""robot-rl launch: the YAML launch subset read with ros2 launch's rules (substitutions, parameters,
namespaces, includes, unknown-key rejection, errors); tests/test_launch_runner.py runs real processes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from robot_rl.commands.launch import main as launch_main
from robot_rl.launch import LaunchError, declared_args, resolve
from robot_rl.launch.substitutions import Context, evaluate, parse_template
from tests.launch_prefix import PKG, write


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
