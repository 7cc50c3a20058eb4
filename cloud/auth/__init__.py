"""API keys, scopes and the request principal."""
