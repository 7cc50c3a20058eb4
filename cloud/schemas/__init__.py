"""Request and response bodies of the /v1 API (msgspec Structs; tables never leave services)."""
