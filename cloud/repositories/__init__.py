"""Queries, every one confined to an organization."""
