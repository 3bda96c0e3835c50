"""Explore any version: ibis tables for notebooks (`lh.source`, `lh.build`, `lh.published`)
and views for the SQL shell."""

from lakehouse.explore.explorer import Explorer, OutputSet

__all__ = ["Explorer", "OutputSet"]
