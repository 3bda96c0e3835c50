"""`lake`: a thin command-line shell over the library. Each command parses, calls, and prints.

The commands live by concept (archive, build, test, catalog, qa, publish, distribute, app,
schedule, gc);
importing them registers them on `app`.
"""

from lakehouse.cli import (  # noqa: F401, I001  (in the order `lake --help` lists them)
    archive_commands,
    build_commands,
    test_commands,
    catalog_commands,
    qa_commands,
    publish_commands,
    distribute_commands,
    app_commands,
    schedule_commands,
    gc_commands,
)
from lakehouse.cli.shell import app, main

__all__ = ["app", "main"]
