"""enigma-router: the intent classifier that picks a specialist for each request."""

__version__ = "0.1.0"
