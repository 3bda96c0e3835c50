"""`lake`: a thin command-line shell over the library. Each command parses, calls, and prints.

The commands live by concept (archive, build, catalog); importing them registers them on `app`.
"""

from lakehouse.cli import archive_commands, build_commands, catalog_commands  # noqa: F401
from lakehouse.cli.shell import app, main

__all__ = ["app", "main"]
