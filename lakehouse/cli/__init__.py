"""`lake`: a thin command-line shell over the library. Each command parses, calls, and prints.

The commands live by concept (archive, build, test, qa, publish, distribute, catalog);
importing them registers them on `app`.
"""

from lakehouse.cli import (  # noqa: F401
    app_commands,
    archive_commands,
    build_commands,
    catalog_commands,
    distribute_commands,
    publish_commands,
    qa_commands,
    test_commands,
)
from lakehouse.cli.shell import app, main

__all__ = ["app", "main"]
