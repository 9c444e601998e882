"""app.background: tasks report on the GUI thread, cancel and join; the latest-only mailbox."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QThread

from app.background import TASKS, Mailbox, start_task
from clipdraw_core.errors import OutputError


def test_mailbox_keeps_the_newest_and_wakes_once_per_batch():
    box: Mailbox[int] = Mailbox(log_key=lambda entry: entry[0])
    assert box.put(1, [(1, "a")]) is True  # first put wakes the reader
    assert box.put(2, [(2, "b")]) is False  # already woken: no second wake-up
    assert box.put(3, [(2, "again"), (3, "c")]) is False
    assert box.take() == (3, [(1, "a"), (2, "b"), (3, "c")])  # same key logged once
    assert box.take() == (None, [])
    assert box.put(4) is True  # taken: the next put wakes again


def test_mailbox_drained_by_one_reader_at_a_time():
    box: Mailbox[int] = Mailbox()
    assert box.put(1) is True
    assert box.take_or_idle() == 1
    assert box.put(2) is False  # the reader still holds the claim and will see it
    assert box.take_or_idle() == 2
    assert box.take_or_idle() is None  # now idle
    assert box.put(3) is True


def test_mailbox_under_concurrent_writers_loses_no_wake_up():
    box: Mailbox[int] = Mailbox()
    seen: list[int] = []
    wakes = threading.Semaphore(0)

    def writer(base: int) -> None:
        for i in range(2000):
            if box.put(base + i):
                wakes.release()

    def reader() -> None:
        while wakes.acquire(timeout=2):
            while (item := box.take_or_idle()) is not None:
                seen.append(item)

    threads = [threading.Thread(target=writer, args=(k * 10_000,)) for k in range(3)]
    r = threading.Thread(target=reader)
    r.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if box.put(-1):  # a claim left stuck by a lost wake-up would swallow this one
        wakes.release()
    r.join()
    assert seen[-1] == -1  # the newest item always arrives (others may coalesce)
    assert box.take_or_idle() is None


def test_task_result_progress_and_finished_arrive_on_the_gui_thread(qtbot):
    gui = QThread.currentThread()
    events: list[tuple[str, object, bool]] = []

    def work(task):
        assert QThread.currentThread() is not gui
        for i in range(3):
            task.report_progress(i)
        return QThread.currentThread().objectName()

    def record(kind):
        return lambda *value: events.append((kind, value, QThread.currentThread() is gui))

    task = start_task(
        work, "test-task", on_result=record("result"), on_progress=record("progress"), on_finished=record("f")
    )
    qtbot.waitUntil(lambda: bool(events) and events[-1][0] == "f", timeout=5000)
    assert [e[0] for e in events] == ["progress"] * 3 + ["result", "f"]
    assert [e[1] for e in events[:3]] == [(0,), (1,), (2,)]
    assert events[3][1] == ("test-task",)  # the worker thread carries the task's name
    assert all(on_gui for _, _, on_gui in events)
    assert not task.is_running() and TASKS.running() == []


def test_task_error_is_one_line_and_cancel_stops_a_cooperative_job(qtbot):
    errors: list[tuple[str, BaseException]] = []

    def fail(_task):
        raise OutputError("cannot write x.png: No space left on device")

    start_task(fail, "test-fail", on_error=lambda message, exc: errors.append((message, exc)))
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert errors[0][0] == "cannot write x.png: No space left on device"
    assert isinstance(errors[0][1], OutputError)

    nudged = threading.Event()

    def spin(task):
        while not task.cancelled():
            time.sleep(0.002)
        return "stopped"

    task = start_task(spin, "test-spin", on_cancel=nudged.set)
    assert task.is_running() and task in TASKS.running()
    t0 = time.monotonic()
    assert TASKS.shutdown(5000) is True  # the one clean-up: cancel everything and join
    assert time.monotonic() - t0 < 2 and nudged.is_set() and not task.is_running()


def test_shutdown_reports_a_task_that_does_not_stop_in_time(qtbot):
    release = threading.Event()
    task = start_task(lambda _t: release.wait(10), "test-stubborn")
    try:
        assert TASKS.shutdown(100) is False
        assert task.is_running()
    finally:
        release.set()
        assert task.wait(5000)


@pytest.mark.parametrize("count", [40])
def test_layer_renderer_paints_only_the_newest_request_one_at_a_time(qtbot, count):
    from app.canvas.layer_renderer import LayerRenderer
    from clipdraw_core.drawing.strokes import default_scene

    renderer = LayerRenderer()
    got: list[int] = []
    renderer.imageReady.connect(lambda generation, image, scale, sel: got.append(generation))
    drawing = default_scene(num_paths=64, size=224)
    for generation in range(count):
        renderer.request(generation, drawing, 2.0)
    qtbot.waitUntil(lambda: bool(got) and got[-1] == count - 1, timeout=10000)
    qtbot.wait(50)
    assert got == sorted(got) and len(got) < count  # coalesced, in order, newest last
    renderer.shutdown()
    renderer.request(count, drawing, 2.0)  # after shutdown: ignored
    qtbot.wait(50)
    assert got[-1] == count - 1 and TASKS.running() == []
