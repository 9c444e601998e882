"""CLIPDraw Studio desktop window (PySide6).

Everything Qt lives here; the engine in :mod:`clipdraw_core` knows nothing of Qt.
Importing this package does not import Qt, so ``python -m app --version`` stays fast.
"""
