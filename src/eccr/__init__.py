"""eccr: Extended Clinical Concept Recognition for Japanese clinical text."""

__version__ = "0.1.0"
