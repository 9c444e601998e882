"""The live score column that the prompt, region and image-prompt tables share.

Each table shows, beside every row, that row's current score from
``Snapshot.scores`` (keyed by the prompt text or the region's / image's label), with
the same three decimals and an empty cell until a score arrives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtWidgets import QTableWidget


def score_text(scores: Mapping[str, float], key: str) -> str:
    """A row's score as shown, or "" before the session has scored it."""
    value = scores.get(key)
    return "" if value is None else f"{value:.3f}"


def refresh_scores(
    table: QTableWidget, column: int, keys: Sequence[str], scores: Mapping[str, float]
) -> None:
    """Rewrite the score cell of row ``i`` from ``scores[keys[i]]``."""
    for row, key in enumerate(keys):
        item = table.item(row, column)
        if item is not None:
            item.setText(score_text(scores, key))
