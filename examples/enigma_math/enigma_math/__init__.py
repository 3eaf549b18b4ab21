"""enigma-math: an enigma plugin that answers arithmetic and percentage questions exactly."""

__version__ = "0.1.0"
