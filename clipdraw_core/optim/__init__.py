"""The optimisation: settings, session loop, losses, augmentations, snapshots."""
