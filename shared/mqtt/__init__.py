"""MQTT 3.1.1 wire code both sides use: the packet codec and topic matching (no I/O).

The embedded broker (cloud/broker) and the Bambu printer simulator (agent/sim/bambu) speak
MQTT as servers with it; neither depends on the other.
"""
