"""``clipdraw-cli batch``: one drawing per (prompt, seed), locally or one per Ray task.

A batch is a list of independent jobs, so there is nothing to schedule by hand: run
locally they go one after another through one loaded model; with ``--ray`` each job
is a Ray task (``num_gpus=1`` when the cluster has GPUs), and Ray spreads them over the
cluster's machines. Ray is an optional extra (``pip install clipdraw-studio[cluster]``)
because it is large; it is imported only when ``--ray`` is given.

A task returns its SVG text and score rather than writing a file, because the worker
may be another machine; the driver writes every file into DIR (atomically) and a
``results.csv`` with prompt, seed, score and file, in job order.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clipdraw_core.errors import ConfigError, OutputError
from clipdraw_core.optim.config import SessionConfig

logger = logging.getLogger(__name__)

MAX_BATCH_JOBS = 100_000
CSV_NAME = "results.csv"


@dataclass(frozen=True)
class BatchJob:
    """One drawing of a batch: its settings (prompt and seed included) and its file name."""

    index: int
    config: dict[str, Any]
    file: str

    @property
    def prompt(self) -> str:
        return str(self.config["prompt"])

    @property
    def seed(self) -> int:
        return int(self.config["seed"])


def read_prompts(path: str | Path) -> list[str]:
    """One prompt per line; blank lines and lines starting with ``#`` are skipped."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the prompts file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"the prompts file {path} is not UTF-8 text") from exc
    prompts = [line.strip() for line in text.splitlines()]
    prompts = [p for p in prompts if p and not p.startswith("#")]
    if not prompts:
        raise ConfigError(f"the prompts file {path} has no prompts (one per line)")
    return prompts


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:40].rstrip("-") or "drawing"


def make_jobs(prompts: Sequence[str], base: SessionConfig, seeds: int) -> list[BatchJob]:
    """``seeds`` jobs per prompt, seeds ``base.seed``, ``base.seed + 1``, ...; every config validated."""
    if not 1 <= seeds <= 10_000:
        raise ConfigError("--seeds must be between 1 and 10000")
    if len(prompts) * seeds > MAX_BATCH_JOBS:
        raise ConfigError(f"a batch is limited to {MAX_BATCH_JOBS} drawings")
    jobs: list[BatchJob] = []
    for prompt in prompts:
        for k in range(seeds):
            config = base.replace(prompt=prompt, seed=base.seed + k).validate()
            index = len(jobs)
            name = f"{index:04d}-{_slug(prompt)}-seed{config.seed}.svg"
            jobs.append(BatchJob(index, config.to_dict(), name))
    return jobs


_MODELS: dict[tuple[str, str, str], Any] = {}


def run_job(config_data: dict[str, Any]) -> tuple[str, float | None]:
    """Run one drawing to its last step; returns ``(svg_text, score)``. Runs in a Ray task too.

    The CLIP model is loaded once per process and kept, so a worker that gets several
    tasks loads it once.
    """
    from clipdraw_core.clip.clip_model import load_clip
    from clipdraw_core.io.svg_export import drawing_to_svg
    from clipdraw_core.optim.session import Session

    config = SessionConfig.from_dict(dict(config_data)).validate()
    key = (config.model_name, config.weights, config.device)
    if key not in _MODELS:
        _MODELS[key] = load_clip(*key)
    session = Session(config, _MODELS[key])
    snap = session.snapshot()
    for step in session.run():
        snap = step
    entries, mode, _ = config.look_palette()
    svg = drawing_to_svg(
        snap.drawing,
        title=config.prompt,
        description=f"seed {config.seed}",
        transparent=config.transparent,
        palette=entries if mode == "hard" else (),  # as the single-drawing CLI writes it
    )
    return svg, snap.score


def _run_local(jobs: Sequence[BatchJob]) -> list[tuple[str, float | None]]:
    results = []
    for job in jobs:
        logger.info("drawing %d/%d: %r seed %d", job.index + 1, len(jobs), job.prompt, job.seed)
        results.append(run_job(job.config))
    return results


def _run_ray(jobs: Sequence[BatchJob], address: str) -> list[tuple[str, float | None]]:
    try:
        import ray
    except ImportError as exc:
        raise ConfigError(
            "--ray needs Ray: pip install 'clipdraw-studio[cluster]' (or pip install ray)"
        ) from exc
    if not ray.is_initialized():
        if address == "local":
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        else:
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False)
            except ConnectionError as exc:
                raise ConfigError(f"cannot connect to the Ray cluster at {address}: {exc}") from exc
    gpus = float(ray.cluster_resources().get("GPU", 0))
    task = ray.remote(num_gpus=1 if gpus >= 1 else 0)(run_job)
    pending = []
    for job in jobs:
        config = dict(job.config)
        if gpus >= 1 and config.get("device") == "auto":
            config["device"] = "cuda"
        pending.append(task.remote(config))
    results: list[tuple[str, float | None]] = ray.get(pending)
    return results


def run_batch(
    jobs: Sequence[BatchJob],
    out_dir: str | Path,
    *,
    ray_address: str | None = None,
    runner: Callable[[Sequence[BatchJob]], list[tuple[str, float | None]]] | None = None,
) -> Path:
    """Run every job and write DIR/<file>.svg and DIR/results.csv; returns the CSV's path."""
    from clipdraw_core.io.fileio import atomic_write_bytes

    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the folder {folder}: {exc.strerror}") from exc
    if runner is not None:
        results = runner(jobs)
    elif ray_address:
        results = _run_ray(jobs, ray_address)
    else:
        results = _run_local(jobs)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["prompt", "seed", "score", "file"])
    for job, (svg, score) in zip(jobs, results, strict=True):
        atomic_write_bytes(folder / job.file, svg.encode("utf-8"))
        writer.writerow([job.prompt, job.seed, "" if score is None else f"{score:.6f}", job.file])
    csv_path = folder / CSV_NAME
    atomic_write_bytes(csv_path, buffer.getvalue().encode("utf-8"))
    return csv_path
