"""CLIPDraw Studio engine: strokes, renderer, CLIP, losses and the optimisation loop.

This package never imports Qt or the ``app`` package (an import-linter contract in
``pyproject.toml`` and ``tests/test_architecture.py`` enforce it), so the same engine
drives the command line, the tests and the desktop window.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
