"""The Python SDK for the AutoPrintFarm /v1 API (`from autoprintfarm import Client`)."""
