"""Home Assistant MQTT discovery, opt-in per organization (docs/home-assistant.md)."""
