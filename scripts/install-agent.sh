#!/usr/bin/env bash
# Install the AutoPrintFarm edge agent as a systemd service on Raspberry Pi OS / Debian.
#
#   sudo scripts/install-agent.sh                 # from this source checkout
#   sudo scripts/install-agent.sh --from-pypi     # the released package
#   sudo scripts/install-agent.sh --dry-run       # print what would be done
#
# What it does (each step is idempotent, so running it again upgrades in place):
#   1. a system user `apf-agent` in the serial group (dialout on Debian), so it can open
#      /dev/ttyACM* and /dev/ttyUSB* without root;
#   2. a virtual environment in /opt/autoprintfarm with the agent's distribution
#      (autoprintfarm-agent, built from this checkout or taken from PyPI);
#   3. /etc/autoprintfarm/agent.toml from a template (never overwritten; mode 0640);
#   4. the data directory /var/lib/autoprintfarm-agent (outbox, file cache);
#   5. a systemd unit that restarts the agent on failure, enabled and started.
# See docs/agent.md.
set -euo pipefail

PREFIX=/opt/autoprintfarm
CONF_DIR=/etc/autoprintfarm
DATA_DIR=/var/lib/autoprintfarm-agent
SERVICE_USER=apf-agent
UNIT=/etc/systemd/system/apf-agent.service
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FROM_PYPI=0
DRY_RUN=0

for arg in "$@"; do
    case "$arg" in
        --from-pypi) FROM_PYPI=1 ;;
        --dry-run) DRY_RUN=1 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "install-agent: unknown option $arg (see --help)" >&2; exit 2 ;;
    esac
done

run() {
    if [ "$DRY_RUN" = 1 ]; then
        printf '+ %s\n' "$*"
    else
        "$@"
    fi
}

write_file() {  # write_file PATH MODE < content
    local path=$1 mode=$2
    if [ "$DRY_RUN" = 1 ]; then
        printf '+ write %s (mode %s):\n' "$path" "$mode"
        sed 's/^/    /'
    else
        install -m "$mode" /dev/stdin "$path"
    fi
}

if [ "$DRY_RUN" = 0 ] && [ "$(id -u)" != 0 ]; then
    echo "install-agent: run as root (sudo), or with --dry-run to see the steps" >&2
    exit 1
fi

PYTHON=$(command -v python3 || true)
if [ -z "$PYTHON" ] || ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "install-agent: Python 3.11 or newer is required (Raspberry Pi OS 12 has 3.11)" >&2
    exit 1
fi
if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
    echo "install-agent: the venv module is missing: apt-get install python3-venv" >&2
    exit 1
fi

SERIAL_GROUP=dialout
getent group "$SERIAL_GROUP" >/dev/null || SERIAL_GROUP=uucp  # Arch-style systems

echo "==> service user $SERVICE_USER (group $SERIAL_GROUP for serial ports)"
if ! id "$SERVICE_USER" >/dev/null 2>&1; then
    run useradd --system --home-dir "$DATA_DIR" --shell /usr/sbin/nologin "$SERVICE_USER"
fi
run usermod -a -G "$SERIAL_GROUP" "$SERVICE_USER"

echo "==> virtual environment in $PREFIX"
run "$PYTHON" -m venv "$PREFIX"
run "$PREFIX/bin/pip" install --quiet --upgrade pip
if [ "$FROM_PYPI" = 1 ]; then
    run "$PREFIX/bin/pip" install --quiet --upgrade autoprintfarm-agent
else
    # The agent's own wheel (and the SDK's, which it pins) built from this checkout: nothing
    # of the cloud reaches the Pi.
    WHEELS="$(mktemp -d)"
    trap 'rm -rf "$WHEELS"' EXIT
    run "$PYTHON" "$SOURCE/scripts/build-dists" --out "$WHEELS"
    VERSION="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$SOURCE/autoprintfarm/_version.py")"
    run "$PREFIX/bin/pip" install --quiet --upgrade --find-links "$WHEELS" \
        "autoprintfarm-agent==$VERSION"
fi

echo "==> configuration in $CONF_DIR"
run install -d -m 0755 "$CONF_DIR"
if [ -e "$CONF_DIR/agent.toml" ]; then
    echo "    $CONF_DIR/agent.toml exists: kept as it is"
else
    write_file "$CONF_DIR/agent.toml" 0640 <<EOF
# AutoPrintFarm agent configuration (docs/agent.md). Paste the values the cloud showed
# when you registered this agent.
agent_id = "agt_CHANGE_ME"
org_id = "org_CHANGE_ME"
data_dir = "$DATA_DIR"
log_level = "INFO"

[mqtt]
url = "mqtts://broker.example.com:8883"
username = "agt_CHANGE_ME"
password_file = "$CONF_DIR/mqtt-password"
# ca_file = "$CONF_DIR/ca.pem"

# Printers are normally assigned in the cloud. Local ones (run "apf agent scan"):
# [[printers]]
# printer_id = "prt_CHANGE_ME"
# name = "Prusa A"
# connection = { kind = "serial", port = "/dev/serial/by-id/usb-...", baud = 115200, profile = "auto" }
EOF
    run chgrp "$SERVICE_USER" "$CONF_DIR/agent.toml"
fi

echo "==> data directory $DATA_DIR"
run install -d -m 0750 -o "$SERVICE_USER" -g "$SERVICE_USER" "$DATA_DIR"

echo "==> systemd unit $UNIT"
write_file "$UNIT" 0644 <<EOF
[Unit]
Description=AutoPrintFarm edge agent
Documentation=https://github.com/autoprintfarm/autoprintfarm/blob/main/docs/agent.md
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
User=$SERVICE_USER
Group=$SERVICE_USER
SupplementaryGroups=$SERIAL_GROUP
ExecStart=$PREFIX/bin/apf agent run --config $CONF_DIR/agent.toml
# SIGTERM: the agent says "offline" to the broker and stops its printers' links.
KillSignal=SIGTERM
TimeoutStopSec=30
Restart=on-failure
RestartSec=5
# Start-up errors (a bad config) exit with 2: do not restart in a loop on those.
RestartPreventExitStatus=2
NoNewPrivileges=true
ProtectSystem=strict
ProtectHome=true
ReadWritePaths=$DATA_DIR
PrivateTmp=true

[Install]
WantedBy=multi-user.target
EOF
run systemctl daemon-reload
run systemctl enable apf-agent.service

if grep -q CHANGE_ME "$CONF_DIR/agent.toml" 2>/dev/null; then
    echo
    echo "Edit $CONF_DIR/agent.toml (and write the MQTT password to $CONF_DIR/mqtt-password),"
    echo "then start the agent:   sudo systemctl start apf-agent"
else
    run systemctl restart apf-agent.service
    echo "Agent started. Logs:    journalctl -u apf-agent -f"
fi
