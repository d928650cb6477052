"""Orchestration: settings, broker, actors, workflow, watch folders and the CLI."""
