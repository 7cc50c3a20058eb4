"""HTTP layer: controllers, request/response schemas, middleware and the app factory."""
