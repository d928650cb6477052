"""Rushes: the shared kernel (errors and timecode) that every other package may import."""

__version__ = "0.1.0"
