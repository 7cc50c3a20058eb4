#!/usr/bin/env bash
# Install the AutoPrintFarm cloud into a fresh virtual environment, from built wheels.
#
#   deploy/install-cloud.sh PREFIX WHEEL_DIR
#
# WHEEL_DIR holds what `scripts/build-dists --out WHEEL_DIR` writes: the autoprintfarm_cloud,
# autoprintfarm_agent and autoprintfarm wheels of one version. The cloud wheel is installed
# from there, the agent and SDK wheels it pins are taken from there too (--find-links), and
# third-party dependencies come from the package index. Then the install is checked: `apf`
# runs and `cloud.app` imports from PREFIX. These are the container image's install steps
# (deploy/Dockerfile); they run as any user. PYTHON chooses the interpreter (default python3,
# 3.11 or newer).
set -euo pipefail

usage() {
    echo "usage: $0 PREFIX WHEEL_DIR" >&2
    echo "  PREFIX     the virtual environment to create, e.g. /opt/autoprintfarm" >&2
    echo "  WHEEL_DIR  the wheels written by scripts/build-dists --out WHEEL_DIR" >&2
    exit 2
}

if [ "$#" -ne 2 ] || [ -z "$1" ] || [ -z "$2" ]; then
    usage
fi
PREFIX=$1
WHEEL_DIR=$2
PYTHON=${PYTHON:-python3}

fail() {
    echo "install-cloud: $*" >&2
    exit 1
}

[ -d "$WHEEL_DIR" ] || fail "no such directory: $WHEEL_DIR"
shopt -s nullglob
cloud_wheels=("$WHEEL_DIR"/autoprintfarm_cloud-*.whl)
shopt -u nullglob
case ${#cloud_wheels[@]} in
    0) fail "no autoprintfarm_cloud-*.whl in $WHEEL_DIR (run scripts/build-dists --out $WHEEL_DIR)" ;;
    1) ;;
    *) fail "more than one autoprintfarm_cloud-*.whl in $WHEEL_DIR: ${cloud_wheels[*]}" ;;
esac

export PIP_DISABLE_PIP_VERSION_CHECK=1
"$PYTHON" -m venv "$PREFIX"
"$PREFIX/bin/python" -m pip install --quiet --upgrade pip
# The wheel by its path: a newer autoprintfarm-cloud on the index must not win over the one
# built here. Its dependencies autoprintfarm-agent==V and autoprintfarm==V come from WHEEL_DIR.
"$PREFIX/bin/pip" install --quiet --find-links "$WHEEL_DIR" "${cloud_wheels[0]}"

# The check: `apf` starts, and the cloud application imports from PREFIX (isolated mode, so a
# source checkout in the current directory or PYTHONPATH cannot stand in for the install).
"$PREFIX/bin/apf" --version >/dev/null || fail "$PREFIX/bin/apf --version failed"
"$PREFIX/bin/python" -I -c '
import os, sys
import cloud.app
where = os.path.realpath(cloud.app.__file__)
if not where.startswith(os.path.realpath(sys.prefix) + os.sep):
    sys.exit(f"cloud.app was imported from {where}, not from {sys.prefix}")
' || fail "the installed cloud does not import"
echo "installed $("$PREFIX/bin/apf" --version) into $PREFIX"
