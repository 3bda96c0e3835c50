"""Formats: reading landed source files (CSV, Excel, JSON, GeoJSON, Shapefile, Parquet)
into DuckDB."""
