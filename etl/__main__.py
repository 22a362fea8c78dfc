"""`python -m etl` runs the `swr-etl` command line."""

from etl.cli import main

main()
