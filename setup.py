"""ament_python install of robot_rl (colcon needs setup.py); `pip install -e .` works the same way.

colcon puts the console scripts in lib/robot_rl (setup.cfg) so `ros2 run robot_rl <exe>` finds them;
pip puts them in the venv's bin/.
"""

import os

from setuptools import find_packages, setup

PACKAGE = "robot_rl"


def tree(src: str, dst: str) -> list[tuple[str, list[str]]]:
    """data_files entries that install every file under ``src`` to ``dst``, keeping sub-folders."""
    entries = []
    for folder, _, files in os.walk(src):
        if files:
            rel = os.path.relpath(folder, src)
            entries.append(
                (os.path.normpath(os.path.join(dst, rel)), [os.path.join(folder, f) for f in files])
            )
    return entries


setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(include=["robot_rl", "robot_rl.*", "sim", "sim.*", "drivers", "drivers.*"]),
    package_data={"sim": ["assets/**/*"]},
    include_package_data=True,
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        *tree("launch", f"share/{PACKAGE}/launch"),
        *tree("configs", f"share/{PACKAGE}/configs"),
    ],
    install_requires=["setuptools"],
    zip_safe=False,
    maintainer="robot_rl maintainers",
    maintainer_email="robot-rl@example.com",
    description="Sample-efficient robot learning behind one env interface for simulation and real arms",
    license="Apache-2.0",
    python_requires=">=3.10",
    entry_points={
        "console_scripts": [
            "robot-rl = robot_rl.cli:main",
            "learner_node = robot_rl.nodes.learner_node:main",
            "actor_node = robot_rl.nodes.actor_node:main",
            "sim_robot_node = robot_rl.nodes.sim_robot_node:main",
            "arm_driver_node = robot_rl.nodes.arm_driver_node:main",
            "fake_arm_node = robot_rl.nodes.fake_arm_node:main",
            "camera_node = robot_rl.nodes.camera_node:main",
            "recorder_node = robot_rl.nodes.recorder_node:main",
            "reward_classifier_node = robot_rl.nodes.reward_classifier_node:main",
            "teleop_node = robot_rl.nodes.teleop_node:main",
        ],
    },
)
