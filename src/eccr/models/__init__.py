"""eccr.models."""
