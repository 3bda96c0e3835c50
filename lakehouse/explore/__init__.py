"""Explore any version: ibis tables for notebooks and views for the SQL shell."""
