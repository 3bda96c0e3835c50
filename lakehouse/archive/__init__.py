"""The raw archive: ingest templates, conversion to Parquet or Delta, and immutable versions
with their manifests."""
