#!/usr/bin/env bash
# Unpacks Swagger UI (the npm package swagger-ui-dist, checked against a pinned sha256) for mdk serve's /docs
# page, which compiles its files into the mdk binary. Prints the directory. Idempotent; cached in $MDK_CACHE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SWAGGER_VERSION=5.35.0
SWAGGER_SHA256=1b8e891893404ea4c3558b6a87e2a3e494e7eedba41168c2ece5800a391a6ea6

dir="$MDK_CACHE/web/swagger-ui-dist-$SWAGGER_VERSION"
if [ -f "$dir/.complete" ]; then echo "$dir"; exit 0; fi
tgz=$(npm_fetch swagger-ui-dist "$SWAGGER_VERSION" "$SWAGGER_SHA256")
rm -rf "$dir" && mkdir -p "$dir"
tar -xzf "$tgz" -C "$dir" --strip-components=1 package/swagger-ui-bundle.js package/swagger-ui.css \
    package/favicon-32x32.png package/LICENSE package/package.json
touch "$dir/.complete"
echo "$dir"
