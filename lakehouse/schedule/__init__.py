"""Running it every day: cadences, freshness, upstream news, and `lake update`."""
