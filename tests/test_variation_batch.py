"""VariationBatch: a batched step of N variations equals N single sessions' steps.

The members' views share one CLIP call, whose bigger matrix products round
differently in the last bits (features differ by ~1e-7). Adam divides each update by
the gradient's own size, so on strokes whose gradient is tiny that grows to a few 1e-4 px
over three steps: one step is compared at 1e-4 px, three at 2e-3 px. With CLIP's pass
split per member again the batch is single sessions bit for bit (the first test), so
the tolerance covers only that one matrix product.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
import torch

from clipdraw_core.drawing.commands import SetFrozen, SetPrompt
from clipdraw_core.drawing.strokes import Stroke
from clipdraw_core.errors import ConfigError
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.session import Session
from clipdraw_core.optim.variation_batch import VariationBatch
from clipdraw_core.optim.variations import evaluate

CONFIG = SessionConfig(
    prompt="a red cat", num_paths=12, num_steps=6, num_augs=2, width=64, height=64, seed=11
)
TOL = {"atol": 1e-4, "rtol": 1e-4}
#: After several steps (see the module docstring; measured up to ~5e-4 px after 3 steps).
STEPS_ATOL = 2e-3


def _arrays(drawing):
    strokes = drawing.strokes
    return (
        np.concatenate([s.points.ravel() for s in strokes]),
        np.array([s.half_width for s in strokes]),
        np.array([s.color for s in strokes]).ravel(),
    )


def assert_same_drawing(a, b, atol=TOL["atol"]):
    assert [s.id for s in a.strokes] == [s.id for s in b.strokes]
    assert [s.frozen for s in a.strokes] == [s.frozen for s in b.strokes]
    for x, y in zip(_arrays(a), _arrays(b), strict=True):
        np.testing.assert_allclose(x, y, atol=atol, rtol=TOL["rtol"])


def _singles(clip, config, seeds, steps, **kwargs):
    sessions = [Session(config.replace(seed=s), clip, **kwargs) for s in seeds]
    for session in sessions:
        for _ in range(steps):
            session.step()
    return sessions


def test_apart_from_the_shared_clip_call_a_batch_is_single_sessions_bit_for_bit(tiny_clip, monkeypatch):
    """With CLIP's pass split per member again, nothing else in the batch differs at all.

    So the RNG streams, phases, summed backward and updates are exactly a session's.
    """
    views = CONFIG.num_augs
    encode = tiny_clip.encode_image

    def per_member(images):
        return torch.cat([encode(chunk) for chunk in images.split(views)])

    batch = VariationBatch(tiny_clip, CONFIG, 3)
    monkeypatch.setattr(tiny_clip, "encode_image", per_member)
    for _ in range(3):
        batch.step()
    monkeypatch.undo()
    for i, single in enumerate(_singles(tiny_clip, CONFIG, batch.seeds, 3)):
        for x, y in zip(_arrays(batch.member(i).drawing()), _arrays(single.drawing()), strict=True):
            np.testing.assert_array_equal(x, y)


def test_a_batched_step_equals_single_steps(tiny_clip):
    batch = VariationBatch(tiny_clip, CONFIG, 3)
    assert batch.seeds == [11, 12, 13] and batch.alive == [0, 1, 2] and batch.step_count == 0
    singles = [Session(CONFIG.replace(seed=s), tiny_clip) for s in batch.seeds]
    snaps = batch.step()
    for i, single in enumerate(singles):
        one = single.step()
        assert_same_drawing(batch.member(i).drawing(), single.drawing())
        assert snaps[i].loss == pytest.approx(one.loss, rel=1e-5)
        assert snaps[i].score == pytest.approx(one.score, abs=1e-6)
        assert snaps[i].step == 1 and snaps[i].config.seed == single.config.seed
    for _ in range(2):
        snaps = batch.step()
        for single in singles:
            single.step()
    assert batch.step_count == 3 and not batch.done and sorted(snaps) == [0, 1, 2]
    for i, single in enumerate(singles):
        assert_same_drawing(batch.member(i).drawing(), single.drawing(), atol=STEPS_ATOL)
        assert snaps[i].loss == pytest.approx(single.snapshot().loss, rel=1e-4)
    # the variations really are different drawings
    drawings = [batch.member(i).drawing() for i in range(3)]
    assert drawings[0] != drawings[1] and drawings[1] != drawings[2] and drawings[0] != drawings[2]


def test_seed_strokes_and_freezes_apply_to_all(tiny_clip):
    rng = np.random.default_rng(0)
    seed_strokes = [
        Stroke(
            100 + k, rng.uniform(5, 60, (4, 2)).astype(np.float32), 1.5, (0.1, 0.2, 0.3, 1.0), frozen=k == 0
        )
        for k in range(2)
    ]
    from clipdraw_core.drawing.strokes import Drawing

    drawing = Drawing(64, 64, CONFIG.background, tuple(seed_strokes))
    batch = VariationBatch(tiny_clip, CONFIG, 2, drawing=drawing)
    for i in range(2):
        ids = [s.id for s in batch.member(i).drawing().strokes]
        assert ids[:2] == [100, 101] and len(ids) == 14
    batch.submit(SetFrozen((101,), True))
    for _ in range(2):
        batch.step()
    singles = [Session(CONFIG.replace(seed=s), tiny_clip, initial_strokes=seed_strokes) for s in batch.seeds]
    for single in singles:
        single.submit(SetFrozen((101,), True))
        single.step()
        single.step()
    for i, single in enumerate(singles):
        got = batch.member(i).drawing()
        assert_same_drawing(got, single.drawing(), atol=STEPS_ATOL)
        for k in range(2):  # frozen strokes did not move, in any member
            np.testing.assert_array_equal(got.strokes[k].points, seed_strokes[k].points)
    with pytest.raises(ConfigError, match="32x32"):
        VariationBatch(tiny_clip, CONFIG.replace(width=32, height=32), 2, drawing=drawing)


def test_submit_reaches_every_member(tiny_clip):
    batch = VariationBatch(tiny_clip, CONFIG, 3)
    batch.step()
    batch.drop(2)
    batch.submit(SetPrompt("a blue dog"))
    snaps = batch.step()
    assert sorted(snaps) == [0, 1]
    assert all(s.config.prompt == "a blue dog" for s in snaps.values())
    assert batch.member(2).config.prompt == "a red cat"  # dropped before the prompt changed


def test_drop_and_take_continue_like_single_sessions(tiny_clip):
    batch = VariationBatch(tiny_clip, CONFIG, 3)
    batch.step()
    batch.drop(1)
    assert batch.alive == [0, 2]
    snaps = batch.step()
    assert sorted(snaps) == [0, 2]
    assert batch.member(1).step_count == 1 and batch.member(0).step_count == 2
    taken = batch.take(2)
    assert isinstance(taken, Session) and batch.alive == [] and batch.done and batch.step() == {}
    with pytest.raises(ConfigError):
        batch.take(0)
    taken.step()  # continues alone, its Adam state kept
    single = _singles(tiny_clip, CONFIG, [batch.seeds[2]], 3)[0]
    assert taken.step_count == 3
    assert_same_drawing(taken.drawing(), single.drawing(), atol=STEPS_ATOL)
    with pytest.raises(ConfigError, match="no variation"):
        batch.drop(3)


def test_scores_and_ranking_match_evaluate(tiny_clip):
    batch = VariationBatch(tiny_clip, CONFIG, 3)
    batch.step()
    batch.drop(0)
    scores = batch.scores()
    assert sorted(scores) == [1, 2]
    for i, value in scores.items():
        member = batch.member(i)
        assert value == pytest.approx(evaluate(tiny_clip, member.drawing(), member.config), abs=1e-5)
    assert batch.ranked() == sorted(scores, key=lambda i: -scores[i])
    assert scores == batch.scores()  # no randomness: the same drawings score the same


def test_a_nan_member_does_not_spoil_the_others(tiny_clip):
    batch = VariationBatch(tiny_clip, CONFIG, 3)
    with torch.no_grad():
        batch.member(1)._colors[0, 0] = math.nan  # every view of member 1 is now NaN
    before = batch.member(1).drawing()
    snaps = batch.step()
    assert snaps[1].loss is None and any("not a number" in m for m in snaps[1].messages)
    assert_arrays_equal_nan(batch.member(1).drawing(), before)
    batch.step()
    singles = _singles(tiny_clip, CONFIG, [batch.seeds[0], batch.seeds[2]], 2)
    assert_same_drawing(batch.member(0).drawing(), singles[0].drawing(), atol=STEPS_ATOL)
    assert_same_drawing(batch.member(2).drawing(), singles[1].drawing(), atol=STEPS_ATOL)
    for _ in range(3):  # five failures in a row drop the member, the batch goes on
        batch.step()
    assert batch.alive == [0, 2] and 1 in batch.failed


def assert_arrays_equal_nan(a, b):
    for x, y in zip(_arrays(a), _arrays(b), strict=True):
        np.testing.assert_array_equal(x, y)


def test_submit_and_drop_from_another_thread(tiny_clip):
    batch = VariationBatch(tiny_clip, CONFIG, 2)
    thread = threading.Thread(target=lambda: (batch.submit(SetPrompt("a green tree")), batch.drop(0)))
    thread.start()
    thread.join()
    snaps = batch.step()
    assert sorted(snaps) == [1] and snaps[1].config.prompt == "a green tree"


def test_count_is_checked(tiny_clip):
    for bad in (0, 10):
        with pytest.raises(ConfigError, match="between 1 and 9"):
            VariationBatch(tiny_clip, CONFIG, bad)


def test_when_every_member_fails_the_batch_fails(tiny_clip):
    from clipdraw_core.errors import NumericalError

    batch = VariationBatch(tiny_clip, CONFIG, 2)
    with torch.no_grad():
        for i in (0, 1):
            batch.member(i)._colors[0, 0] = math.nan
    for _ in range(4):
        batch.step()
    with pytest.raises(NumericalError, match="5 steps in a row"):
        batch.step()
    assert batch.alive == [] and sorted(batch.failed) == [0, 1]
