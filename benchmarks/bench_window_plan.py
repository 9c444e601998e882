"""What the window's plan hooks (app.run.plan_hooks) cost per step.

Steps a session of 256 strokes with a tiny random CLIP (so the step itself is cheap
and the hooks' share is as large as it gets) with the hooks recording a frame every
step, then with 4 stages of a 1024-stroke budget (it starts with the same 256 strokes;
the plan reads the drawing before every step). Times the hooks' calls and the step
separately in the same loop, so a shared, noisy machine inflates both alike; prints
the medians and the hooks' share of a step.

Usage: ``.venv/bin/python benchmarks/bench_window_plan.py [--steps 40] [--repeat 3]``.
The last line is ``record_step_ms=.. record_hooks_ms=.. stages_step_ms=.. stages_hooks_ms=..``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "gui"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import torch
    from conftest import TINY_CONFIG

    from app.run.history import History
    from app.run.plan_hooks import PlanHooks, plan_for
    from clipdraw_core.clip.clip_model import load_clip, register_model_config
    from clipdraw_core.optim.config import SessionConfig
    from clipdraw_core.optim.session import Session

    torch.set_num_threads(2)
    path = Path(tempfile.mkdtemp()) / "bench-tiny.json"
    path.write_text(json.dumps(TINY_CONFIG))
    clip = load_clip(register_model_config(path), "random", "cpu")
    base = SessionConfig(prompt="a lighthouse", num_paths=256, num_augs=1, num_steps=100_000, device="cpu")

    def run(kind: str) -> tuple[float, float]:
        """(ms per step, ms per step inside the hooks), medians over the steps."""
        config = base.replace(timelapse_every=1)
        if kind == "stages":  # a budget of 1024 in 4 stages: it starts with the same 256 strokes
            config = config.replace(num_paths=1024, stages=4)
        hooks = PlanHooks(plan_for(config, resumed=False, start_step=0), History(), config.timelapse_every)
        session = Session(hooks.session_config(config), clip)
        hooks.start(session)
        session.step()  # warm-up
        steps, inside = [], []
        for _ in range(args.steps):
            t0 = time.perf_counter()
            hooks.before_step(session)
            t1 = time.perf_counter()
            snap = session.step()
            t2 = time.perf_counter()
            hooks.after_step(session, snap)
            t3 = time.perf_counter()
            steps.append((t2 - t1) * 1000)
            inside.append((t1 - t0 + t3 - t2) * 1000)
        return statistics.median(steps), statistics.median(inside)

    results = {kind: [run(kind) for _ in range(args.repeat)] for kind in ("record", "stages")}
    line = []
    for kind, runs in results.items():
        step = statistics.median(r[0] for r in runs)
        hook = statistics.median(r[1] for r in runs)
        print(f"{kind:7s} step {step:8.2f} ms, hooks {hook:6.3f} ms ({100 * hook / step:.2f} % of a step)")
        line.append(f"{kind}_step_ms={step:.2f} {kind}_hooks_ms={hook:.3f}")
    print(" ".join(line))


if __name__ == "__main__":
    main()
