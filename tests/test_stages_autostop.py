"""Stages add (and freeze) strokes at the right steps; auto-stop stops on a plateau; ETA."""

from __future__ import annotations

import numpy as np
import pytest

from clipdraw_core.errors import ConfigError
from clipdraw_core.optim.autostop import EtaEstimator, PlateauDetector, format_duration
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.plan import PlanOptions, RunPlan, run_with_plan
from clipdraw_core.optim.session import Session
from clipdraw_core.optim.stages import StageScheduler, stage_sizes, stage_starts
from tests.stubs import stub_constant_score


def tiny_config(**kw) -> SessionConfig:
    base = {"prompt": "a red cat", "num_paths": 12, "num_steps": 12, "num_augs": 1, "width": 64, "height": 64}
    base.update(kw)
    return SessionConfig(**base)


def planned_session(tiny_clip, options: PlanOptions, **kw):
    config = tiny_config(**kw)
    plan = RunPlan(options, config)
    return Session(plan.session_config(config), tiny_clip), plan


def test_stage_arithmetic():
    assert stage_sizes(10, 3) == [4, 3, 3] and sum(stage_sizes(256, 7)) == 256
    assert stage_starts(1000, 4) == [0, 250, 500, 750]
    assert stage_starts(10, 3, start_step=5) == [5, 8, 11]
    with pytest.raises(ConfigError, match="at least 5 strokes"):
        StageScheduler(4, 5, 100)
    with pytest.raises(ConfigError, match="between 1 and"):
        StageScheduler(100, 0, 100)


def test_stages_add_strokes_at_the_right_steps(tiny_clip):
    session, plan = planned_session(tiny_clip, PlanOptions(stages=3))
    counts = {0: session.num_strokes}
    for snap in run_with_plan(session, plan):
        counts[snap.step] = len(snap.drawing.strokes)
    # stages begin before steps 0, 4 and 8: steps 1-4 see 4 strokes, 5-8 see 8, 9-12 see 12
    assert counts == {
        0: 4,
        **dict.fromkeys(range(1, 5), 4),
        **dict.fromkeys(range(5, 9), 8),
        9: 12,
        10: 12,
        11: 12,
        12: 12,
    }
    final = session.drawing()
    assert final.ids == list(range(12)) and not any(s.frozen for s in final.strokes)


def test_stage_freeze_fixes_the_earlier_stages(tiny_clip):
    session, plan = planned_session(tiny_clip, PlanOptions(stages=2, stage_freeze=True))
    snaps = {snap.step: snap.drawing for snap in run_with_plan(session, plan)}
    first_stage = snaps[6].strokes  # stage 2 begins before step 6 (= 12 // 2)
    assert len(first_stage) == 6 and not any(s.frozen for s in first_stage)
    final = snaps[12]
    assert [s.frozen for s in final.strokes] == [True] * 6 + [False] * 6
    for before, after in zip(first_stage, final.strokes[:6], strict=True):
        np.testing.assert_array_equal(before.points, after.points)  # frozen: unchanged since
        assert before.color == after.color
    assert not np.array_equal(snaps[7].strokes[8].points, final.strokes[8].points)  # stage 2 still moves


@pytest.fixture
def constant_score(monkeypatch):
    """The loss stubbed to a constant score (the model still encodes every view)."""
    return stub_constant_score(monkeypatch, 0.25)


def test_auto_stop_stops_on_a_plateau(tiny_clip, constant_score):
    session, plan = planned_session(tiny_clip, PlanOptions(auto_stop=True, patience=5), num_steps=50)
    snaps = list(run_with_plan(session, plan))
    # the first score sets the best; five steps without a gain later it stops
    assert len(snaps) == 6 and session.step_count == 6 and plan.stopped_early
    assert next(constant_score) == 6


def test_no_auto_stop_by_default(tiny_clip, constant_score):
    session, plan = planned_session(tiny_clip, PlanOptions(), num_steps=9)
    assert len(list(run_with_plan(session, plan))) == 9 and not plan.stopped_early


def test_plateau_detector_follows_the_smoothed_score():
    rising = PlateauDetector(patience=5, tolerance=1e-3, smoothing=2)
    assert not any(rising.update(0.1 + 0.01 * i) for i in range(50))
    noisy = PlateauDetector(patience=20, tolerance=1e-3, smoothing=10)
    rng = np.random.default_rng(0)
    stops = [noisy.update(0.3 + 0.05 * rng.standard_normal()) for _ in range(400)]
    assert any(stops)  # noise around a constant is a plateau, however lucky a single step
    noisy.reset()
    assert not noisy.stopped and noisy.best is None
    stalled = PlateauDetector(patience=3, smoothing=1)
    assert [stalled.update(s) for s in (0.5, None, float("nan"), 0.5)] == [False, False, False, True]


def test_eta_uses_the_smoothed_time_per_step():
    now = [0.0]
    eta = EtaEstimator(smoothing=0.5, clock=lambda: now[0])
    eta.update(0)
    assert eta.remaining(0, 100) is None
    now[0] = 2.0
    eta.update(1)  # 2 s per step
    assert eta.remaining(1, 11) == pytest.approx(20.0)
    now[0] = 3.0
    eta.update(2)  # 1 s: the average moves half way
    assert eta.seconds_per_step == pytest.approx(1.5)
    eta.reset()
    now[0] = 100.0  # a pause: not counted
    eta.update(2)
    assert eta.seconds_per_step == pytest.approx(1.5)
    assert format_duration(42.4) == "42 s" and format_duration(185) == "3 min 05 s"
    assert format_duration(3725) == "1 h 02 min" and format_duration(None) == "…"


def test_plan_prunes_during_and_after_the_run_and_records_it(tiny_clip):
    options = PlanOptions(timelapse_every=4, prune_alpha=0.3, prune_every=5)
    session, plan = planned_session(tiny_clip, options)
    faint = [s.id for s in session.drawing().strokes if s.color[3] < 0.3]
    assert faint  # random CLIPDraw colours: some strokes start faint
    counts = [len(snap.drawing.strokes) for snap in run_with_plan(session, plan)]
    assert counts == [12] * 12  # the prunes before steps 6 and 11 refilled what they removed
    middle = plan.prunes[0]
    assert set(faint) <= set(middle.removed) and len(middle.added) == len(middle.removed)
    during = len(plan.prunes)
    final = plan.finish(session)
    assert all(s.color[3] >= 0.3 for s in final.drawing.strokes)
    assert all(not p.added for p in plan.prunes[during:])  # the final prune does not refill
    assert [f.step for f in plan.recorder.frames] == [0, 4, 8, 12]
    assert plan.recorder.frames[-1].to_drawing() == final.drawing  # the clip ends on the output


def test_auto_stop_waits_for_the_last_stage(tiny_clip, constant_score):
    options = PlanOptions(auto_stop=True, patience=2, stages=2)
    session, plan = planned_session(tiny_clip, options, num_steps=20, num_paths=8)
    snaps = list(run_with_plan(session, plan))
    # stage 2 begins before step 10; the plateau count restarts there and stops 3 steps on
    assert len(snaps[-1].drawing.strokes) == 8 and session.step_count == 13 and plan.stopped_early


def test_plan_options_are_checked_by_the_settings_metadata():
    """A plan built directly gets the settings' own one-line errors; from a config it equals the config."""
    from dataclasses import fields

    from clipdraw_core.optim.plan import CONFIG_FIELDS
    from clipdraw_core.optim.setting import setting_named

    config = tiny_config(
        stages=2, prune_alpha=0.25, prune_every=3, auto_stop=True, patience=7, timelapse_every=2
    )
    options = PlanOptions.from_config(config).validate()
    assert all(getattr(options, name) == getattr(config, name) for name in CONFIG_FIELDS)
    assert PlanOptions.from_config(config, record=False).timelapse_every == 0
    assert set(CONFIG_FIELDS) <= {f.name for f in fields(PlanOptions)}
    assert all(setting_named(SessionConfig, name).cli for name in CONFIG_FIELDS)
    PlanOptions(timelapse_every=0).validate()  # 0 = no frames, allowed in a plan only
    bad = {
        "patience": (0, r"patience \(--patience\) must be an integer between 1"),
        "stages": (0, r"stages \(--stages\) must be an integer between 1 and 64"),
        "prune_alpha": (1.5, r"\(--prune\) must be a finite number between 0 and 1"),
        "prune_every": (-1, r"\(--prune-every\) must be an integer between 0"),
        "timelapse_every": (-2, r"\(--timelapse-every\) must be an integer between 0"),
        "stage_freeze": ("yes", r"\(--stage-freeze\) must be true or false"),
        "auto_stop": (1, r"\(--auto-stop\) must be true or false"),
        "timelapse_max_frames": (0, "frame cap"),
        "tolerance": (float("nan"), "tolerance"),
        "prune_refill": (None, "refill"),
    }
    for name, (value, message) in bad.items():
        with pytest.raises(ConfigError, match=message):
            PlanOptions(**{name: value}).validate()
        if name in CONFIG_FIELDS and name != "timelapse_every":  # the same words as the settings say
            with pytest.raises(ConfigError, match=message):
                tiny_config(**{name: value}).validate()
    with pytest.raises(ConfigError, match="--patience"):
        RunPlan(PlanOptions(patience=0), tiny_config())
