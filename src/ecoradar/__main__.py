"""`python -m ecoradar` runs the CLI."""

from ecoradar.cli import main

main()
