"""The embedded MQTT broker: pure Python, closed by default (cloud/broker/server.py)."""

from cloud.broker.server import Broker, BrokerSettings, Listener

__all__ = ["Broker", "BrokerSettings", "Listener"]
