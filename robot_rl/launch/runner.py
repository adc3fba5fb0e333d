"""Supervise the launched nodes: start them, prefix their output, respawn them, end them all.

Each node runs in its own process group (``start_new_session``), with the launcher's environment
(the ROS 2 wheels need ``LD_LIBRARY_PATH`` and ``_ROS_WHEELS_BOOTSTRAP_COMPLETE``; ``ROS_DOMAIN_ID`` and
``ROS_AUTOMATIC_DISCOVERY_RANGE`` pass through) plus the node's ``env`` entries. Shutdown is launch's:
SIGINT to every node, SIGTERM after ``sigterm_timeout`` (5 s), SIGKILL after another ``sigkill_timeout``
(5 s); a second Ctrl-C skips to the next step. Shutdown starts on SIGINT/SIGTERM to the launcher or
when a node with ``on_exit: shutdown`` exits; the launcher returns once every node has exited. Signals
go to the node's process group only while its leader is not yet reaped (so its id cannot have been
reused), and a group's leftovers are killed when its leader exits: no orphans. On Linux the nodes also
get SIGTERM if the launcher itself dies (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import math
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from types import FrameType
from typing import IO, TextIO

from robot_rl.launch.node import NodeLaunch

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True) if sys.platform == "linux" else None
_SCREEN_STDOUT = ("screen", "both", "full")  # output modes that show stdout; stderr shows unless own_log
_STAGES = ("SIGINT", "SIGTERM", "SIGKILL")
_ESCALATING = (
    "process[%s] failed to terminate '%s' seconds after receiving '%s', escalating to '%s'"  # launch's
)


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class _Process:
    spec: NodeLaunch
    popen: subprocess.Popen | None = None
    readers: list[threading.Thread] = field(default_factory=list)
    retries: int = 0
    restart_at: float | None = None
    done: bool = False  # exited and will not start again
    stage: int = -1  # index into _STAGES of the last shutdown signal sent
    next_stage_at: float = math.inf
    hurried: bool = False  # the next step was brought forward by a repeated signal


class Runner:
    """Run the nodes until they have all exited; ``run()`` returns the launcher's exit code."""

    def __init__(
        self,
        nodes: list[NodeLaunch],
        *,
        log_file: TextIO | None = None,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        poll_s: float = 0.05,
    ) -> None:
        self.procs = [_Process(spec) for spec in nodes]
        self.log_file, self.poll_s = log_file, poll_s
        self.stdout, self.stderr = stdout or sys.stdout, stderr or sys.stderr
        self.shutting_down = False
        self.exit_code = 0
        self._signals = 0
        self._handled_signals = 0
        self._wake = threading.Event()
        self._write_lock = threading.Lock()

    # -- public ---------------------------------------------------------------------------------
    def run(self) -> int:
        previous = self._install_signal_handlers()
        try:
            for proc in self.procs:
                if self.shutting_down:  # a required node failed to start: start no more
                    break
                self._start(proc)
            while not all(p.done for p in self.procs):
                now = time.monotonic()
                self._handle_signals(now)
                for proc in self.procs:
                    self._check_exit(proc, now)
                    if proc.restart_at is not None and now >= proc.restart_at and not self.shutting_down:
                        self._start(proc)
                if self.shutting_down:
                    self._escalate(now)
                self._wake.wait(self.poll_s)
                self._wake.clear()
        finally:
            self._kill_leftovers()
            for proc in self.procs:
                self._join_readers(proc, timeout_s=1.0)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return self.exit_code

    def shutdown(self, reason: str) -> None:
        """Begin launch's shutdown: SIGINT to every running node, then escalate on timeouts."""
        if self.shutting_down:
            return
        self.shutting_down = True
        log.info("shutting down: %s", reason)
        now = time.monotonic()
        for proc in self.procs:
            proc.restart_at = None
            if self._alive(proc):
                self._signal_stage(proc, 0, now)
            elif proc.popen is None:
                proc.done = True

    # -- signals ----------------------------------------------------------------------------------
    def _install_signal_handlers(self) -> dict[int, object]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous = {}
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.getsignal(signum)
            signal.signal(signum, self._on_signal)
        return previous

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._signals += 1
        self._wake.set()

    def _handle_signals(self, now: float) -> None:
        while self._handled_signals < self._signals:
            self._handled_signals += 1
            if not self.shutting_down:
                self.shutdown("signal received (again to escalate to SIGTERM, then SIGKILL)")
            else:
                for proc in self.procs:  # a repeated Ctrl-C skips the wait for the next step
                    if self._alive(proc) and proc.next_stage_at > now:
                        proc.next_stage_at, proc.hurried = now, True

    # -- processes --------------------------------------------------------------------------------
    def _start(self, proc: _Process) -> None:
        spec = proc.spec
        proc.restart_at = None
        env = {**os.environ, **spec.env}
        env.setdefault("PYTHONUNBUFFERED", "1")  # timely, line-ordered output of Python nodes
        try:
            popen = subprocess.Popen(
                shlex.join(spec.cmd) if spec.shell else spec.cmd,
                shell=spec.shell,
                cwd=spec.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # only a prctl() call in the child
            )
        except OSError as err:
            log.error("[%s] could not start %s: %s", spec.label, shlex.join(spec.cmd), err)
            proc.done = True
            if spec.required:
                self.exit_code = 1
                self.shutdown(f"required node {spec.label} could not start")
            return
        proc.popen, proc.stage, proc.next_stage_at = popen, -1, math.inf
        log.info("[%s] process started with pid [%d]", spec.label, popen.pid)
        show_stdout = spec.output in _SCREEN_STDOUT
        show_stderr = spec.output != "own_log"
        to_file = spec.output != "screen"
        proc.readers = [
            self._reader(popen.stdout, spec.label, self.stdout if show_stdout else None, to_file),
            self._reader(popen.stderr, spec.label, self.stderr if show_stderr else None, to_file),
        ]

    def _reader(
        self, stream: IO[bytes] | None, label: str, screen: TextIO | None, to_file: bool
    ) -> threading.Thread:
        def pump() -> None:
            assert stream is not None
            with stream:
                for raw in iter(stream.readline, b""):
                    line = raw.decode(errors="replace").rstrip("\r\n")
                    with self._write_lock:
                        if screen is not None:
                            screen.write(f"[{label}] {line}\n")
                            screen.flush()
                        if to_file and self.log_file is not None:
                            self.log_file.write(f"{time.time():.4f} [{label}] {line}\n")

        thread = threading.Thread(target=pump, name=f"output-{label}", daemon=True)
        thread.start()
        return thread

    @staticmethod
    def _alive(proc: _Process) -> bool:
        return proc.popen is not None and proc.popen.poll() is None

    def _check_exit(self, proc: _Process, now: float) -> None:
        popen = proc.popen
        if popen is None or popen.poll() is None:
            return
        spec, code = proc.spec, popen.returncode
        self._kill_group(popen.pid, signal.SIGKILL)  # whatever the node left behind in its group
        self._join_readers(proc, timeout_s=0.5)
        proc.popen = None
        if code == 0:
            log.info("[%s] process has finished cleanly [pid %d]", spec.label, popen.pid)
        else:
            log.error(
                "[%s] process has died [pid %d, exit code %d, cmd '%s']",
                spec.label,
                popen.pid,
                code,
                shlex.join(spec.cmd),
            )
        if spec.required and not self.shutting_down:
            self.exit_code = 0 if code == 0 else 1
            self.shutdown(f"required node {spec.label} exited (on_exit: shutdown)")
        can_retry = spec.respawn_max_retries < 0 or proc.retries < spec.respawn_max_retries
        if spec.respawn and can_retry and not self.shutting_down:
            proc.retries += 1
            proc.restart_at = now + spec.respawn_delay_s
            log.info("[%s] respawning in %.1f s (respawn %d)", spec.label, spec.respawn_delay_s, proc.retries)
        else:
            proc.done = True

    def _escalate(self, now: float) -> None:
        for proc in self.procs:
            if self._alive(proc) and now >= proc.next_stage_at and proc.stage + 1 < len(_STAGES):
                sent, escalated = _STAGES[proc.stage], _STAGES[proc.stage + 1]
                if proc.hurried:
                    log.warning(
                        "process[%s] signal received again, escalating to '%s'", proc.spec.label, escalated
                    )
                else:
                    waited = proc.spec.sigterm_timeout_s if proc.stage == 0 else proc.spec.sigkill_timeout_s
                    log.error(_ESCALATING, proc.spec.label, waited, sent, escalated)
                proc.hurried = False
                self._signal_stage(proc, proc.stage + 1, now)

    def _signal_stage(self, proc: _Process, stage: int, now: float) -> None:
        assert proc.popen is not None
        name = _STAGES[stage]
        log.info("[%s] sending signal '%s'", proc.spec.label, name)
        self._kill_group(proc.popen.pid, getattr(signal, name))
        proc.stage = stage
        timeouts = (proc.spec.sigterm_timeout_s, proc.spec.sigkill_timeout_s)
        proc.next_stage_at = now + timeouts[stage] if stage < len(timeouts) else math.inf

    @staticmethod
    def _kill_group(pgid: int, signum: int) -> None:
        # Our child leads this group (start_new_session); POSIX does not reuse a group id while any
        # member lives, and we signal only groups whose leader we have not yet reaped or just reaped.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signum)

    def _kill_leftovers(self) -> None:
        for proc in self.procs:
            if proc.popen is not None and proc.popen.poll() is None:
                log.error("[%s] still running at exit, killing it", proc.spec.label)
                self._kill_group(proc.popen.pid, signal.SIGKILL)
                try:
                    proc.popen.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    log.error("[%s] pid %d did not die after SIGKILL", proc.spec.label, proc.popen.pid)

    @staticmethod
    def _join_readers(proc: _Process, timeout_s: float) -> None:
        for thread in proc.readers:
            thread.join(timeout_s)
        proc.readers = []
