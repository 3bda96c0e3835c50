"""OpenLineage run events for ingest, build and publish."""
