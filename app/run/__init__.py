"""Background work: the session worker thread, the run controller, model loading."""
