"""Device-to-host copies that a step starts and a reader finishes.

Reading a CUDA tensor on the host (``float(t)``, ``.item()``, ``.cpu()``) waits for
every kernel queued before it: a step that did so would stall the GPU once per read
and leave it idle while Python queues the next step. A :class:`HostCopy` instead
queues the copies behind the step's kernels and returns at once; whoever needs the
numbers (a front end reading a :class:`~clipdraw_core.optim.snapshot.Snapshot`)
waits for them then, usually when they are long done.

* CUDA: ``non_blocking`` copies into pinned host buffers (torch's caching host
  allocator recycles them once a copy is garbage), and one event recorded after
  them; :meth:`ready` asks the event without waiting.
* CPU: a clone (the live tensors change in place on the next step); always ready.
* other devices (MPS): a clone on the device, copied to the host when read
  (:meth:`ready` is ``False`` until then, so only a reader pays for the copy).

Written here rather than taken from a library because it is a dozen lines around
torch's own pinned memory and events.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

import numpy as np
import torch
from torch import Tensor


class HostCopy:
    """Named tensors copied off the device without waiting (see the module docstring)."""

    def __init__(self, tensors: Mapping[str, Tensor]) -> None:
        self._lock = threading.Lock()
        self._event: torch.cuda.Event | None = None
        self._deferred = False
        self._buffers: dict[str, Tensor] = {}
        self._arrays: dict[str, np.ndarray] | None = None
        cuda = False
        for name, tensor in tensors.items():
            t = tensor.detach()
            if t.device.type == "cuda":
                buf = torch.empty(t.shape, dtype=t.dtype, pin_memory=True)
                buf.copy_(t, non_blocking=True)
                cuda = True
            else:
                buf = t.clone()
                self._deferred = self._deferred or t.device.type != "cpu"
            self._buffers[name] = buf
        if cuda:
            self._event = torch.cuda.Event()  # type: ignore[no-untyped-call]  # torch leaves it unannotated
            self._event.record()

    def ready(self) -> bool:
        """Whether :meth:`read` would return without waiting for the device."""
        if self._arrays is not None:
            return True
        if self._deferred:
            return False
        return self._event is None or bool(self._event.query())  # type: ignore[no-untyped-call]

    def read(self) -> dict[str, np.ndarray]:
        """The copies as numpy arrays; waits for the device the first time if needed."""
        with self._lock:
            if self._arrays is None:
                if self._event is not None:
                    self._event.synchronize()
                self._arrays = {k: _host_array(v) for k, v in self._buffers.items()}
                self._buffers = {}
            return self._arrays


def _host_array(buffer: Tensor) -> np.ndarray:
    """A read-only numpy view of a host copy (a copy of a device buffer, first)."""
    if buffer.device.type != "cpu":
        buffer = buffer.cpu()
    array = buffer.numpy()
    array.flags.writeable = False
    return array
