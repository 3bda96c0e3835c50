"""Dagster integration (the optional extra `lakehouse[dagster]`)."""
