"""Dagster integration (the optional extra `lakehouse[dagster]`; docs/dagster.md).

`definitions(project, env)` turns a project's templates and recipes into Dagster definitions:

- an asset per source, `raw/<dataset>` (group "sources"): its materialization is the dataset's
  ingest (metadata: version, archived or unchanged, rows);
- an asset per product, `<product>` (group "products"), depending on the assets of what its
  recipe reads: its materialization locks the product to the latest versions and builds it
  with its contracts (metadata: build id, models built and reused, the contracts' summary);
- a job and a schedule per distinct cadence of the templates (UTC), selecting the sources of
  that cadence and everything downstream;
- `lakehouse_upstream_sensor`, which asks each source whether it has something newer than its
  last fetch and requests a run of what changed and what reads it, once per change.

`dagster dev -m lakehouse.dagster.project`, from the project folder, serves them.
Importing `lakehouse` never imports Dagster: only this package does.
"""

from lakehouse.errors import ConfigError

try:
    import dagster  # noqa: F401  (only to say what to install when it is missing)
except ImportError as missing:
    raise ConfigError(
        "Dagster is not installed; install the extra with pip install 'lakehouse[dagster]'."
    ) from missing

from lakehouse.dagster.assets import product_key, source_key
from lakehouse.dagster.definitions import definitions
from lakehouse.dagster.sensor import SENSOR_NAME

__all__ = ["SENSOR_NAME", "definitions", "product_key", "source_key"]
