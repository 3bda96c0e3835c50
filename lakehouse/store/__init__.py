"""The store: one folder or S3 prefix holding every archived, built and published byte."""
