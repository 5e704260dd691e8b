"""eccr.training."""
