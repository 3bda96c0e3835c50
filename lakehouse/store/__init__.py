"""The store: one folder or S3 prefix holding every archived, built and published byte
(atomic writes, exclusive creates, checksums; nothing is changed in place)."""

from lakehouse.store.storage import Store, make_s3_filesystem, sha256_of_file

__all__ = ["Store", "make_s3_filesystem", "sha256_of_file"]
