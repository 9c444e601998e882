"""Variations: distinct seeds give distinct drawings, ranked by a deterministic score."""

from __future__ import annotations

import pytest

from clipdraw_core.errors import ConfigError
from clipdraw_core.optim.config import SessionConfig
from clipdraw_core.optim.session import Session
from clipdraw_core.optim.variations import Variation, evaluate, rank, variation_seeds


def test_seeds_follow_the_base_seed_and_wrap():
    assert variation_seeds(7, 3) == [7, 8, 9]
    assert variation_seeds(2**32 - 1, 2) == [2**32 - 1, 0]
    for bad in (0, 10, True):
        with pytest.raises(ConfigError, match="between 1 and 9"):
            variation_seeds(0, bad)


def test_variations_differ_and_rank_by_their_scores(tiny_clip):
    base = SessionConfig(
        prompt="a red cat", num_paths=10, num_steps=3, num_augs=1, width=64, height=64, seed=4
    )
    results = []
    for seed in variation_seeds(base.seed, 3):
        config = base.replace(seed=seed)
        session = Session(config, tiny_clip)
        list(session.run())
        drawing = session.drawing()
        results.append(Variation(seed, drawing, evaluate(tiny_clip, drawing, config), session.step_count))
    drawings = [v.drawing for v in results]
    assert drawings[0] != drawings[1] and drawings[1] != drawings[2] and drawings[0] != drawings[2]
    # the score is deterministic: the same drawing gets the same number
    assert evaluate(tiny_clip, drawings[0], base) == results[0].score
    ranked = rank(results)
    assert [v.score for v in ranked] == sorted((v.score for v in results), reverse=True)
    assert {v.seed for v in ranked} == {4, 5, 6}
    assert len({v.score for v in results}) == 3


def test_variations_score_drawings_with_filled_shapes(tiny_clip):
    """evaluate() renders fills: a drawing with shapes is scored, and the fill changes the score."""
    import dataclasses
    import random as _random

    from clipdraw_core.drawing.strokes import Drawing, random_shapes
    from clipdraw_core.optim.config import SessionConfig
    from clipdraw_core.optim.variations import evaluate

    config = SessionConfig(prompt="a red square", width=64, height=64, num_paths=0, num_shapes=3)
    shapes = random_shapes(3, 64, 64, _random.Random(3))
    drawing = Drawing(64, 64, (1.0, 1.0, 1.0), tuple(shapes))
    clear = drawing.with_strokes([dataclasses.replace(s, fill=(*s.fill[:3], 0.0)) for s in shapes])
    a, b = evaluate(tiny_clip, drawing, config), evaluate(tiny_clip, clear, config)
    assert a == a and b == b and a != b
