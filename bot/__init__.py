"""Front ends over the core: the command line now, the Discord bot beside it."""
