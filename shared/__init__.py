"""What the edge agent and the cloud both import: the wire contract, enums, G-code analysis."""

from shared.version import __version__

__all__ = ["__version__"]
