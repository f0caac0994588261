"""The CLI's commands, one module per group; each is thin and calls the library."""
