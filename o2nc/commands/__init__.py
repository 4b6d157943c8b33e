"""Sub-commands of the ``o2nc`` command line; each module exposes ``add_parser(subparsers)`` and ``run(args)``."""
