"""Delivery and proxy presets as YAML data."""
