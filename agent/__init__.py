"""The edge agent: drives printers (USB serial, OctoPrint) and syncs them to the cloud over MQTT."""
