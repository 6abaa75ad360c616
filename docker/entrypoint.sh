#!/bin/sh
# Multiprocess metrics: uvicorn workers write their samples to files in this folder. Files left
# by an earlier run (a crash, a restart of the container) would be counted again: start empty.
set -eu
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    rm -rf "${PROMETHEUS_MULTIPROC_DIR:?}"
    mkdir -p "${PROMETHEUS_MULTIPROC_DIR}"
fi
exec "$@"
