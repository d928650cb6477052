"""The ffmpeg layer: one runner and the transcodes built on it. Paths and options in, results out."""
