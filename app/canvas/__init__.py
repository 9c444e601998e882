"""The drawing canvas: the view, its off-thread layer painting, stroke painting."""
