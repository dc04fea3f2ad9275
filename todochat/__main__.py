"""`python -m todochat`."""

from todochat.cli import main

main()
