"""A fake ament prefix (package fake_pkg, executable ``node``) shared by the launcher tests."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

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
