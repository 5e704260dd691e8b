"""eccr.align."""
