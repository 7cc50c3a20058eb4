"""Tests of the cloud service."""
