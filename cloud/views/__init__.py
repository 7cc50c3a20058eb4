"""Resources as the API returns them, built from stored rows: one place per resource, used
by its service, by the event log (webhook payloads) and by the lifecycle."""
