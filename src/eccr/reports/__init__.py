"""eccr.reports."""
