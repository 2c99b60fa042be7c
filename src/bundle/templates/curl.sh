#!/bin/sh
# Calls @NAME@ @VERSION@ served by `mdk serve @NAME@-@VERSION@/` (MDK_URL overrides http://localhost:8080).
# usage: sh curl.sh [FILE]
set -e
URL=${MDK_URL:-http://localhost:8080}
HERE=$(dirname "$0")
curl -sSf "$URL/v2/health/ready" && echo ready
curl -sSf "$URL/v2/models/@NAME@"; echo
@PREDICT@
