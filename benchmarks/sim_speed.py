"""Simulation speed of PandaPickCube: raw ``mj_step``, our env (state / two 128 px cameras) and gym-hil's.

Run from the repository root with the project venv (~2-3 min with the defaults, plus ~20 s the first time
to build gym-hil's venv)::

    .venv/bin/python benchmarks/sim_speed.py --out benchmarks/results/sim_speed.json

gym-hil is not a project dependency: it is pip-installed into its own venv (``--venv``) on first use, pinned
to this interpreter's mujoco / gymnasium / numpy versions, and measured in a subprocess that runs this file
with ``--worker gymhil`` and prints JSON. Env rates use uniform random actions from the action space and
include the resets on terminated / truncated. The controller (our IK solve, gym-hil's ``opspace``) and our
camera rendering are timed by wrapping those calls (< 1 us overhead per call).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

os.environ.setdefault("MUJOCO_GL", "egl")  # headless; gym-hil builds an offscreen renderer even for state obs

REPO = Path(__file__).resolve().parents[1]
OURS_ID = "robot_rl/PandaPickCube-v0"
GYMHIL_ID = "gym_hil/PandaPickCubeBase-v0"


def progress(msg: str) -> None:
    print(f"[sim_speed] {msg}", file=sys.stderr, flush=True)


def summary(values: list[float], **extra: Any) -> dict[str, Any]:
    return dict(median=statistics.median(values), min=min(values), max=max(values), runs=values, **extra)


def time_calls(owner: Any, name: str) -> list[float]:
    """Wrap ``owner.<name>`` so every call adds its duration [s] to the returned one-element accumulator."""
    inner, spent = getattr(owner, name), [0.0]

    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - t0

    setattr(owner, name, timed)
    return spent


def raw_step_rate(env: Any, steps: int, repeats: int, seed: int) -> dict[str, Any]:
    """mj_step/s on the env's model and data after reset (one C call of ``nstep`` steps per repeat)."""
    import mujoco

    base = env.unwrapped
    base.reset(seed=seed)
    model, data = base.model, base.data
    mujoco.mj_step(model, data, nstep=100)  # warm caches
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        mujoco.mj_step(model, data, nstep=steps)
        rates.append(steps / (time.perf_counter() - t0))
    return summary(rates, timestep_s=float(model.opt.timestep), nv=int(model.nv), ngeom=int(model.ngeom))


def env_step_rate(env: Any, steps: int, repeats: int, warmup: int, seed: int, spent: list[float]) -> dict:
    """env.step/s over ``steps`` random-action steps per repeat; ``share`` = median fraction of ``spent``."""
    env.reset(seed=seed)
    env.action_space.seed(seed)
    for _ in range(warmup):
        if any(env.step(env.action_space.sample())[2:4]):
            env.reset()
    rates, shares, resets = [], [], 0
    for _ in range(repeats):
        s0, t0 = spent[0], time.perf_counter()
        for _ in range(steps):
            if any(env.step(env.action_space.sample())[2:4]):  # terminated or truncated
                env.reset()
                resets += 1
        elapsed = time.perf_counter() - t0
        rates.append(steps / elapsed)
        shares.append((spent[0] - s0) / elapsed)
    return summary(rates, steps=steps, resets=resets, share=statistics.median(shares))


def versions() -> dict[str, str]:
    return {"python": platform.python_version(), **{p: version(p) for p in ("mujoco", "gymnasium", "numpy")}}


def worker_gymhil(args: argparse.Namespace) -> None:
    """Runs inside gym-hil's venv; prints one JSON line on stdout."""
    import gym_hil  # noqa: F401  (registers the gym_hil/* ids)
    import gym_hil.mujoco_gym_env as hil_env
    import gymnasium as gym

    osc = time_calls(hil_env, "opspace")  # the Python operational-space controller, called every substep
    env = gym.make(GYMHIL_ID)
    progress(f"gym-hil {GYMHIL_ID} state obs: {args.repeats} x {args.steps_gymhil} steps")
    result = env_step_rate(env, args.steps_gymhil, args.repeats, args.warmup, args.seed, osc)
    base = env.unwrapped
    result["substeps"] = int(getattr(base, "_n_substeps", round(base.control_dt / base.physics_dt)))
    progress(f"gym-hil raw mj_step: {args.repeats} x {args.raw_steps} steps")
    raw = raw_step_rate(env, args.raw_steps, args.repeats, args.seed)
    env.close()
    print(json.dumps({"env": result, "raw": raw, "versions": {**versions(), "gym-hil": version("gym-hil")}}))


def ensure_gymhil_venv(venv: Path, requirements: list[str]) -> Path:
    """Create ``venv`` and pip-install ``requirements`` unless a previous run already did exactly that."""
    python, marker, log = venv / "bin" / "python", venv / ".sim_speed-requirements", venv / "pip-install.log"
    wanted = "\n".join(requirements)
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    if not python.exists():
        progress(f"creating venv {venv}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    progress(f"pip install {' '.join(requirements)} (log: {log})")
    with log.open("w") as f:
        cmd = [str(python), "-m", "pip", "install", "--disable-pip-version-check", *requirements]
        rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT).returncode
    if rc != 0:
        tail = "".join(log.read_text().splitlines(keepends=True)[-30:])
        raise SystemExit(f"pip install into {venv} failed (rc={rc}); last lines of {log}:\n{tail}")
    marker.write_text(wanted)
    return python


def run_gymhil(args: argparse.Namespace, ours: dict[str, str]) -> dict[str, Any]:
    pins = [f"gym-hil=={args.gymhil_version}"] + [f"{k}=={ours[k]}" for k in ("mujoco", "gymnasium", "numpy")]
    python = ensure_gymhil_venv(args.venv.resolve(), pins)
    cmd = [str(python), str(Path(__file__).resolve()), "--worker", "gymhil", "--seed", str(args.seed)]
    cmd += ["--steps-gymhil", str(args.steps_gymhil), "--repeats", str(args.repeats)]
    cmd += ["--warmup", str(args.warmup), "--raw-steps", str(args.raw_steps)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, timeout=args.worker_timeout, cwd=REPO)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"gym-hil worker failed (rc={proc.returncode}); stdout:\n{proc.stdout}")
    return json.loads(lines[-1])


def measure_ours(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(REPO))
    import gymnasium as gym

    import robot_rl  # noqa: F401  (registers robot_rl/* ids)
    from sim.tasks.pick_cube import PandaPickCubeEnv

    progress(f"ours raw mj_step: {args.repeats} x {args.raw_steps} steps")
    env = PandaPickCubeEnv()
    raw = raw_step_rate(env, args.raw_steps, args.repeats, args.seed)
    env.close()

    progress(f"ours {OURS_ID} state obs: {args.repeats} x {args.steps_ours} steps")
    env = gym.make(OURS_ID)
    ik = time_calls(env.unwrapped.controller, "solve")  # differential IK, once per control step
    state = env_step_rate(env, args.steps_ours, args.repeats, args.warmup, args.seed, ik)
    state["substeps"] = int(env.unwrapped.substeps)
    env.close()

    progress(f"ours {OURS_ID} images=True image_size=128: {args.repeats} x {args.steps_images} steps")
    env = gym.make(OURS_ID, images=True, image_size=128)
    render = time_calls(env.unwrapped, "render_camera")
    cams = {name: list(img.shape) for name, img in env.reset(seed=args.seed)[0]["images"].items()}
    r = env_step_rate(env, args.steps_images, args.repeats, args.warmup, args.seed, render)
    images = summary([1e3 / x for x in r["runs"]], cameras=cams, share=r["share"], resets=r["resets"])
    try:  # the renderer's EGL context is current after a render
        from OpenGL import GL

        images["gl"] = " / ".join(GL.glGetString(k).decode() for k in (GL.GL_RENDERER, GL.GL_VERSION))
    except Exception as exc:  # informational only
        images["gl"] = f"unknown ({exc!r})"
    env.close()
    return {"raw": raw, "state": state, "images": images}


def machine() -> dict[str, Any]:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next(
        (ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), platform.processor()
    )
    return {"cpu": cpu, "cores": len(os.sched_getaffinity(0)), "platform": platform.platform()}


def report(res: dict[str, Any]) -> str:
    ours, hil, v, m = res["ours"], res.get("gymhil"), res["versions"], res["machine"]
    rows = [("Measurement", "Median", "Min-max", "Notes")]

    def rate(name: str, r: dict[str, Any], note: str) -> None:
        rows.append((name, f"{r['median']:,.0f} steps/s", f"{r['min']:,.0f}-{r['max']:,.0f}", note))

    def split(env: dict[str, Any], raw: dict[str, Any], ctrl: str) -> str:
        physics = env["substeps"] / raw["median"] * env["median"]
        return f"{env['substeps']} substeps/step; physics ~{physics:.0%}, {ctrl} {env['share']:.0%}"

    for name, r in [("ours", ours["raw"]), ("gym-hil", hil["raw"] if hil else None)]:
        if r:
            note = f"dt {r['timestep_s'] * 1e3:g} ms, {r['ngeom']} geoms, nv {r['nv']}"
            rate(f"raw mj_step, {name}", r, note)
    rate("env step, ours (state obs)", ours["state"], split(ours["state"], ours["raw"], "IK"))
    if hil:
        rate("env step, gym-hil (state obs)", hil["env"], split(hil["env"], hil["raw"], "OSC"))
        ratio = res["ratio_ours_over_gymhil"]
        verdict = "meets >= 10x" if ratio >= 10 else "BELOW 10x"
        rows.append(("ratio ours / gym-hil", f"{ratio:.1f}x", "", verdict))
    img = ours["images"]
    spread, note = f"{img['min']:.2f}-{img['max']:.2f}", f"rendering {img['share']:.0%}"
    rows.append(("env step, ours, 2 x 128x128 cams", f"{img['median']:.2f} ms/step", spread, note))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines.append(f"\nMachine: {m['cpu']}, {m['cores']} cores; " + ", ".join(f"{k} {x}" for k, x in v.items()))
    lines.append(f"GL: {img['gl']}")
    if hil:
        lines.append("gym-hil venv: " + ", ".join(f"{k} {x}" for k, x in hil["versions"].items()))
    return "\n".join(lines)


FLAGS: list[tuple[str, type, Any, str]] = [
    ("--out", Path, REPO / "benchmarks/results/sim_speed.json", "where to write the JSON results"),
    ("--repeats", int, 5, "timed repeats per measurement; the median is reported"),
    ("--warmup", int, 50, "untimed env steps before timing each env"),
    ("--raw-steps", int, 50_000, "mj_step calls per repeat for the raw physics rate"),
    ("--steps-ours", int, 10_000, "env steps per repeat: ours, state observations"),
    ("--steps-gymhil", int, 3_000, "env steps per repeat: gym-hil, state observations"),
    ("--steps-images", int, 1_000, "env steps per repeat: ours, two 128x128 cameras (front, wrist)"),
    ("--seed", int, 0, "seed of the first reset and of the random-action sampler"),
    ("--venv", Path, REPO / "benchmarks/.venv-gymhil", "gym-hil's own venv (created on first use)"),
    ("--gymhil-version", str, "0.1.14", "gym-hil version pip-installed into --venv"),
    ("--worker-timeout", float, 1200.0, "seconds allowed for the gym-hil subprocess"),
]


class _HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keep the module docstring's layout and show each flag's default."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=_HelpFormatter)
    for flag, kind, default, text in FLAGS:
        p.add_argument(flag, type=kind, default=default, help=text)
    p.add_argument("--skip-gymhil", action="store_true", help="measure only our env (no gym-hil venv needed)")
    p.add_argument("--worker", choices=["gymhil"], help="internal: measure gym-hil, print JSON")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker == "gymhil":
        return worker_gymhil(args)
    started = datetime.datetime.now().astimezone()
    res: dict[str, Any] = {"date": started.isoformat(timespec="seconds"), "command": " ".join(sys.argv)}
    res |= {"machine": machine(), "versions": versions(), "mujoco_gl": os.environ["MUJOCO_GL"]}
    res["settings"] = {k: str(v) for k, v in vars(args).items()}
    res["ours"] = measure_ours(args)
    if not args.skip_gymhil:
        res["gymhil"] = run_gymhil(args, res["versions"])
        res["ratio_ours_over_gymhil"] = res["ours"]["state"]["median"] / res["gymhil"]["env"]["median"]
    res["wall_s"] = round((datetime.datetime.now().astimezone() - started).total_seconds(), 1)
    print(report(res))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2) + "\n")
    progress(f"wrote {args.out} ({res['wall_s']} s)")


if __name__ == "__main__":
    main()
