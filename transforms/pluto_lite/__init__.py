"""PLUTO-lite: one row per tax lot, from four raw sources (../shared/PLUTO_LITE.md section 2).

staging.py types and cleans each source, intermediate.py aggregates the side files per lot,
product.py joins them and derives the output columns. Every function is ibis only, so the same
code runs on any ibis backend.
"""
