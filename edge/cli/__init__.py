"""The ``edge`` command line: a thin layer over the Python functions, one module per subcommand."""
