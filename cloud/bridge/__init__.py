"""The cloud's side of MQTT: consume what agents publish, publish config and commands."""
