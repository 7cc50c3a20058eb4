"""The AutoPrintFarm cloud service: the `/v1` REST API, its storage and its command line."""
