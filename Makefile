# robot_rl — the README's commands. `make train` and `make test` build .venv on first use.
#
#   make train    train PandaPickCube headless: actor + learner nodes over ZeroMQ, from launch/sim_train.launch.yaml
#   make train-local   the same training in one process (robot-rl train), the fast path for experiments
#   make test     run the test suite
#   make view     render the scripted expert on a task to an MP4 (TASK=pick_cube|peg_insert|pick_cube_bullet)
#   make lint     ruff

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TASK ?= pick_cube

# Headless rendering, and ROS 2 discovery kept on loopback with a random domain for every run.
export MUJOCO_GL ?= egl
export PYOPENGL_PLATFORM ?= egl
export ROS_AUTOMATIC_DISCOVERY_RANGE := LOCALHOST
export ROS_DOMAIN_ID ?= $(shell $(PYTHON) -c 'import random; print(random.randint(1, 100))')
export AMENT_PREFIX_PATH := $(CURDIR)/$(VENV)$(if $(AMENT_PREFIX_PATH),:$(AMENT_PREFIX_PATH))

.PHONY: venv train train-local test view lint clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-ros.txt setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt -r requirements-ros.txt
	$(BIN)/pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
	@# An editable install skips data_files: make .venv an ament prefix whose share/robot_rl is this
	@# checkout (package.xml, launch/, configs/), so find-pkg-share sees live files.
	mkdir -p $(VENV)/share/ament_index/resource_index/packages
	touch $(VENV)/share/ament_index/resource_index/packages/robot_rl
	ln -sfn $(CURDIR) $(VENV)/share/robot_rl
	touch $(STAMP)

train: $(STAMP)
	$(BIN)/robot-rl launch launch/sim_train.launch.yaml task:=$(TASK) overrides:="$(ARGS)"

train-local: $(STAMP)
	$(BIN)/robot-rl train task=$(TASK) $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(ARGS)

view: $(STAMP)
	$(BIN)/robot-rl view task=$(TASK) $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
