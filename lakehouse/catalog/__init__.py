"""What the store holds, and whether it is intact: the catalog, the documentation site, verify."""
