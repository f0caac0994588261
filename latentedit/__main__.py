"""`python -m latentedit` is the same as the `latentedit` command."""

from latentedit.cli import main

main()
