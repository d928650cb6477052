"""Delivery: presets, renditions, QC and distribution targets (see the delivery issue)."""
