"""eccr.metrics."""
