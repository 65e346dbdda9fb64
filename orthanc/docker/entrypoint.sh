#!/bin/sh
# Orthanc's container entrypoint: write the configuration from the PACS_* variables with the project's
# generator (orthanc/config.ts, bundled as config.mjs; mode 0600, it holds the credentials), then
# replace this shell with Orthanc so it receives the stop signal.
set -eu
umask 077
config=/tmp/orthanc-config/orthanc.json
node /opt/pacs/orthanc/config.mjs --out "$config" >/dev/null
export TCP_NODELAY=1
exec Orthanc "$config"
