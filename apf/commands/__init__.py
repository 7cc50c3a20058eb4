"""One module per `apf` subcommand group; each exposes `register(subparsers)`.

A command module stays light to import: it imports the agent or cloud code it drives inside
its handler, so `apf --help` works with only the base install.
"""
