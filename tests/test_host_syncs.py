"""A session step does not read the device (issue 10): host-device syncs counted on the CPU.

No GPU here, so the syncs a CUDA step would make are found by instrumenting every
torch call that reads a tensor's value on the host (``.item()``, ``bool()``,
``float()``, ``int()``, ``.tolist()``, ``.cpu()``, ``.numpy()``, ``.to("cpu")``) or
needs a device-computed size (``nonzero``, ``unique``, boolean-mask indexing,
``repeat_interleave`` without ``output_size``, ``masked_select``), and recording who
called it. Each step's :class:`~clipdraw_core.optim.host_copy.HostCopy` is made to
look like a GPU copy still in flight (``ready()`` is False), so a step that waited
for one shows up as a ``HostCopy.read``.

What is allowed is listed below by call site: the sparse renderer sizing its
buffers (the issue's one exception), the augmentations' random numbers (drawn from a
CPU generator: host numbers on every device) and Adam's step counter (a host tensor
off CUDA; on CUDA the session runs Adam ``capturable``, so it stays on the device).
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from clipdraw_core.drawing.commands import SetFrozen
from clipdraw_core.errors import NumericalError
from clipdraw_core.optim import host_copy
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.session import MAX_NAN_STEPS, Session

ROOT = Path(__file__).resolve().parents[1]

#: (file, function) of every call that may read the device during a step.
ALLOWED = {
    # the sparse renderer sizes its buffers from the data (candidates, pairs, fill spans)
    ("clipdraw_core/render/torch_renderer.py", "_enumerate_chunk"),
    ("clipdraw_core/render/torch_renderer.py", "_expand"),
    ("clipdraw_core/render/torch_renderer.py", "_find_pairs"),
    ("clipdraw_core/render/torch_renderer.py", "_fill_interior"),
    ("clipdraw_core/render/torch_renderer.py", "_render_layers"),
    ("clipdraw_core/render/torch_renderer.py", "_composite"),
    ("clipdraw_core/render/torch_renderer.py", "render_torch"),
    ("clipdraw_core/render/__init__.py", "has_fills"),  # the renderer asks its layout
    # random augmentation parameters come from the session's CPU generator
    ("clipdraw_core/optim/augment.py", "_randint"),
    ("clipdraw_core/optim/augment.py", "crop_params"),
    # torch's Adam reads its (host) step counter when not capturable (never on CUDA)
    ("torch/optim/optimizer.py", "_get_value"),
}


def _site(frame) -> tuple[str, str]:
    path = Path(frame.f_code.co_filename).resolve()
    text = str(path)
    if "site-packages/" in text:
        rel = text.split("site-packages/", 1)[1]
    else:
        try:
            rel = str(path.relative_to(ROOT))
        except ValueError:
            rel = text
    return rel, frame.f_code.co_name


class SyncCounter:
    """Patches torch's host reads; ``calls`` counts them by (file, function, what)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: Counter[tuple[str, str, str]] = Counter()
        self.active = False
        reads = ("item", "tolist", "__bool__", "__float__", "__int__", "__index__", "cpu", "numpy", "nonzero")
        for name in reads:
            self._wrap_method(monkeypatch, name, lambda *a, **k: True)
        self._wrap_method(monkeypatch, "__getitem__", self._bool_index)
        self._wrap_method(monkeypatch, "__setitem__", self._bool_index)
        self._wrap_method(monkeypatch, "repeat_interleave", self._no_output_size)
        for name in ("nonzero", "unique", "masked_select", "argwhere"):
            self._wrap_function(monkeypatch, name, lambda *a, **k: True)
        self._wrap_function(monkeypatch, "repeat_interleave", self._no_output_size)

    @staticmethod
    def _bool_index(self_, key, *rest) -> bool:
        keys = key if isinstance(key, tuple) else (key,)
        return any(isinstance(k, torch.Tensor) and k.dtype == torch.bool for k in keys)

    @staticmethod
    def _no_output_size(*args, **kwargs) -> bool:
        return kwargs.get("output_size") is None

    def _record(self, what: str) -> None:
        if self.active:
            file, function = _site(sys._getframe(2))
            self.calls[(file, function, what)] += 1

    def _wrap_method(self, monkeypatch, name, counts) -> None:
        original = getattr(torch.Tensor, name)

        def wrapper(*args, **kwargs):
            if self.active and counts(*args, **kwargs):
                self._record(name)
            return original(*args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, wrapper)

    def _wrap_function(self, monkeypatch, name, counts) -> None:
        original = getattr(torch, name)

        def wrapper(*args, **kwargs):
            if self.active and counts(*args, **kwargs):
                self._record(f"torch.{name}")
            return original(*args, **kwargs)

        monkeypatch.setattr(torch, name, wrapper)

    def unexpected(self) -> dict[tuple[str, str, str], int]:
        return {k: v for k, v in self.calls.items() if (k[0], k[1]) not in ALLOWED}


@pytest.fixture
def busy_device(monkeypatch):
    """Every HostCopy looks like a GPU copy in flight; counts the reads that would wait for one."""
    waits = Counter()
    real_read = host_copy.HostCopy.read
    monkeypatch.setattr(host_copy.HostCopy, "ready", lambda self: self._arrays is not None)

    def read(self):
        if self._arrays is None:
            waits["HostCopy.read"] += 1
        return real_read(self)

    monkeypatch.setattr(host_copy.HostCopy, "read", read)
    return waits


def _config(**kw) -> SessionConfig:
    base = {"prompt": "a red cat", "num_paths": 24, "num_shapes": 2, "num_steps": 100, "num_augs": 2}
    base.update(kw)
    return SessionConfig(**base)


def _warm(session: Session) -> None:
    for _ in range(2):  # first calls measure kernels, build caches
        _ = session.step().drawing


def test_a_step_reads_the_device_only_to_size_the_render(tiny_clip, monkeypatch, busy_device):
    session = Session(_config(l2_points=0.1, grad_clip=1.0), tiny_clip)
    session.submit(SetFrozen((session.snapshot().drawing.ids[0],), True))
    _warm(session)
    busy_device.clear()
    counter = SyncCounter(monkeypatch)
    counter.active = True
    snaps = [session.step() for _ in range(3)]
    counter.active = False
    assert counter.unexpected() == {}, f"a session step reads the device here: {counter.unexpected()}"
    assert sum(counter.calls.values()) > 0  # the renderer's own reads were seen: the counter works
    assert busy_device["HostCopy.read"] == 0  # no step waited for an earlier step's copy
    # reading the snapshots afterwards waits for each copy once, whatever is read
    assert [s.step for s in snaps] == [3, 4, 5]
    assert all(s.loss is not None and "a red cat" in s.scores for s in snaps)
    _ = [s.drawing for s in snaps]
    assert busy_device["HostCopy.read"] == 3


def test_the_counter_catches_a_read_added_to_the_step(tiny_clip, monkeypatch, busy_device):
    session = Session(_config(), tiny_clip)
    _warm(session)
    real = Session._regularisers

    def regularisers(self):
        total = real(self)
        float(total)  # what `float(loss)` in a step looks like
        return total

    monkeypatch.setattr(Session, "_regularisers", regularisers)
    counter = SyncCounter(monkeypatch)
    counter.active = True
    session.step()
    counter.active = False
    assert ("tests/test_host_syncs.py", "regularisers", "__float__") in counter.unexpected()


def test_nan_steps_on_a_busy_device_are_skipped_reported_and_stop(tiny_clip, monkeypatch, busy_device):
    session = Session(_config(), tiny_clip)
    good = session.step().drawing
    nan = float("nan")
    monkeypatch.setattr(tiny_clip, "encode_image", lambda images: torch.full((images.shape[0], 64), nan))
    snaps = []
    with pytest.raises(NumericalError, match="NaN"):
        for _ in range(3 * MAX_NAN_STEPS):
            snaps.append(session.step())
    # the streak was only known once the oldest copy had to be read: a few steps late
    assert MAX_NAN_STEPS <= len(snaps) <= 2 * MAX_NAN_STEPS + 1
    assert all(any("not a number" in m for m in s.messages) for s in snaps)
    assert all(s.loss is None and s.drawing.strokes == good.strokes for s in snaps)


def test_pending_snapshots_are_the_state_of_their_step(tiny_clip):
    session = Session(_config(), tiny_clip)
    first = session.step()
    pts = [s.points.copy() for s in session.snapshot().drawing.strokes]
    second = session.step()
    assert not first.resolved and not second.resolved  # nothing read yet
    for stroke, keep in zip(first.drawing.strokes, pts, strict=True):
        np.testing.assert_array_equal(stroke.points, keep)
    assert first.drawing.strokes != second.drawing.strokes
    assert first.resolved and second.resolved


def test_a_batch_of_variations_steps_without_reading_the_device(tiny_clip, monkeypatch, busy_device):
    """VariationBatch.step: one CLIP pass and one backward for all, no host read of the losses."""
    from clipdraw_core.optim.variation_batch import VariationBatch

    batch = VariationBatch(tiny_clip, _config(num_shapes=0), 3)
    for _ in range(2):
        _ = [s.drawing for s in batch.step().values()]
    busy_device.clear()
    counter = SyncCounter(monkeypatch)
    counter.active = True
    steps = [batch.step() for _ in range(2)]
    counter.active = False
    assert counter.unexpected() == {}, f"a batch step reads the device here: {counter.unexpected()}"
    assert busy_device["HostCopy.read"] == 0
    assert [sorted(s) for s in steps] == [[0, 1, 2], [0, 1, 2]]
    assert all(snap.loss is not None for step in steps for snap in step.values())
