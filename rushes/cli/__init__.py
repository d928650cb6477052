"""The ``rushes`` command: run the farm embedded or as its parts, ingest files, inspect the catalog.

One module per command group; each registers its commands on :data:`rushes.cli.base.main`.
"""

from rushes.cli import access, agents, delivery, lifecycle, media, metadata, passwords, rules, serve, webhooks  # noqa: F401  (registers the commands)
from rushes.cli.base import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
