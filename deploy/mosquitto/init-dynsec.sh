#!/bin/sh
# One-shot setup of the broker (deploy/compose.yaml, service mosquitto-init): create the
# dynamic-security file with the administrator the cloud logs in as, unless it exists. The
# same steps as docs/deploy.md, "Mosquitto 2". Runs in the eclipse-mosquitto image (ash).
set -eu

FILE=/mosquitto/data/dynamic-security.json

if [ -e "$FILE" ]; then
    echo "mosquitto-init: $FILE exists; nothing to do"
    exit 0
fi
if [ -z "${APF_MQTT_ADMIN_PASSWORD-}" ]; then
    echo "mosquitto-init: APF_MQTT_ADMIN_PASSWORD is not set" >&2
    exit 1
fi

# Made under another name and moved into place, so a failed run leaves no half-made file
# that the next run would take for done.
rm -f "$FILE.new"
# Its own hints go to stdout; its errors to stderr. It exits 0 even when it could not write
# the file, so the file itself is the check.
mosquitto_ctrl dynsec init "$FILE.new" apf-admin "$APF_MQTT_ADMIN_PASSWORD" >/dev/null
if [ ! -s "$FILE.new" ]; then
    echo "mosquitto-init: mosquitto_ctrl dynsec init did not write $FILE.new" >&2
    exit 1
fi
chmod 600 "$FILE.new"   # created 0644 or 0640 by version; it holds password hashes
# The broker drops to its user `mosquitto` before it loads the plugin.
if [ "$(id -u)" = 0 ]; then
    chown mosquitto:mosquitto "$FILE.new"
fi
mv "$FILE.new" "$FILE"
echo "mosquitto-init: created $FILE with the administrator apf-admin"
