"""The drawing model: strokes, edit commands, curve fitting."""
