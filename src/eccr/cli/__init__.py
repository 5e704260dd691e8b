"""eccr.cli."""
