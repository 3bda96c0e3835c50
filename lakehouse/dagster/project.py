"""What `dagster dev -m lakehouse.dagster.project` loads: the definitions of the project whose
lakehouse.toml LAKEHOUSE_CONFIG names, or else the nearest one at or above the folder Dagster
was started in (the environment: LAKEHOUSE_ENV, or the config's)."""

from lakehouse.dagster.definitions import definitions

defs = definitions()
