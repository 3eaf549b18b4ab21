"""enigma-vision: describes images from features it can really extract, offline."""

__version__ = "0.1.0"
