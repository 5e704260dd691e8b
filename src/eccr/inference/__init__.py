"""eccr.inference."""
