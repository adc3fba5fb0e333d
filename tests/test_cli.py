"""The robot-rl CLI: help that explains, one clear error for bad input, and the view command's MP4."""

from __future__ import annotations

import subprocess
import sys

from robot_rl.cli import COMMANDS, main


def test_help_lists_every_command(capsys) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert command in out


def test_command_help_shows_settings_with_defaults(capsys) -> None:
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    assert "total_env_steps: 20000" in out and "num_critics" in out and "Trains SAC/RLPD" in out


def test_unknown_command_and_bad_overrides_exit_2_with_one_message(capsys) -> None:
    assert main(["fly"]) == 2
    assert "unknown command 'fly'" in capsys.readouterr().err
    assert main(["view", "task=nope"]) == 2
    err = capsys.readouterr().err
    assert "Could not find 'task/nope'" in err and "pick_cube" in err  # lists the valid tasks
    assert main(["train", "agent.num_critics=1", "agent.num_min_critics=2"]) == 2
    assert "num_min_critics=2 must be in [1, num_critics=1]" in capsys.readouterr().err


def test_view_writes_an_mp4_headless(tmp_path) -> None:
    out = tmp_path / "view.mp4"
    assert main(["view", "task=peg_insert", "episodes=1", "interactive=false", f"output={out}"]) == 0
    assert out.is_file() and out.stat().st_size > 10_000


def test_console_script_is_installed() -> None:
    bin_dir = __import__("pathlib").Path(sys.executable).parent
    result = subprocess.run([bin_dir / "robot-rl", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "commands:" in result.stdout
