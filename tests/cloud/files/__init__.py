"""Tests of cloud/files."""
