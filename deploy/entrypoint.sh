#!/bin/sh
# The cloud image's entry point (deploy/Dockerfile).
#
# With no arguments, or only options: bring the database schema up to date, then serve the
# API on 0.0.0.0:8000, the options passed on (`--workers 2`). The settings come from APF_*
# variables (docs/deploy.md). With a command instead (`apf cloud admin create-org …`, `sh`):
# run that command, and migrate nothing.
set -eu

case "${1-}" in
    "" | -*)
        apf cloud migrate
        exec apf cloud serve --host 0.0.0.0 --port 8000 "$@"
        ;;
    *)
        exec "$@"
        ;;
esac
