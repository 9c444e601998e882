"""clipdraw_core.optim.memory: the heap trim a session does every TRIM_EVERY steps."""

from __future__ import annotations

import sys

import pytest

from clipdraw_core.optim import memory, session
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.session import Session


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_trim_heap_calls_glibc():
    assert memory.trim_heap() is True


def test_a_session_trims_every_trim_every_steps(tiny_clip, monkeypatch):
    calls = []
    monkeypatch.setattr(session, "TRIM_EVERY", 2)
    monkeypatch.setattr(session, "trim_heap", lambda: calls.append(1) or True)
    s = Session(SessionConfig(prompt="a cat", num_paths=8, num_steps=10, num_augs=1), tiny_clip)
    for _ in range(5):
        s.step()
    assert len(calls) == 2  # after steps 2 and 4


def test_without_malloc_trim_nothing_happens(monkeypatch):
    monkeypatch.setattr(memory, "_malloc_trim", lambda: None)
    assert memory.trim_heap() is False
