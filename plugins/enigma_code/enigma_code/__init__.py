"""enigma-code: a small code specialist trained on real mined Python."""

__version__ = "0.1.0"
