"""The browser dashboard: signing in with an API key, and the pages built on the `/v1` API."""
