"""The one place the project's version is written (read by the build and by `apf --version`)."""

__version__ = "0.1.0"
