"""Tests of cloud/net."""
