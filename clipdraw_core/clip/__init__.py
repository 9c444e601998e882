"""CLIP: model loading, weights download, model catalogue."""
