"""eccr.experiments."""
