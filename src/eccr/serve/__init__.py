"""eccr.serve."""
