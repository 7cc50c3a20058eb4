"""The system's version, which is the SDK's (`autoprintfarm/_version.py`, the one place it is
written): the agent and the cloud install the SDK."""

from autoprintfarm._version import __version__

__all__ = ["__version__"]
