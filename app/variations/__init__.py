"""Variations in the window: N seeds of the same settings as one batch, a live ranked grid."""
