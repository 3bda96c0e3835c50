"""`python -m lakehouse.cli`: the same as `lake`."""

from lakehouse.cli import main

main()
