"""A simulated Bambu Lab printer in LAN mode: MQTT endpoint, FTPS storage card, state."""
