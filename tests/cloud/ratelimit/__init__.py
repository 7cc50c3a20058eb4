"""Tests of cloud/ratelimit."""
