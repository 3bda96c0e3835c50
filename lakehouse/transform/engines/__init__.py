"""Engines that run a build's ibis expressions: DuckDB (default) and Spark."""
