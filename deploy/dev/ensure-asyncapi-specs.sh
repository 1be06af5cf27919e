#!/usr/bin/env bash
# Fetch the official AsyncAPI JSON Schemas (the npm package @asyncapi/specs) into .cache/npm,
# for the test that validates shared/schemas/asyncapi.json. Does nothing when the pinned
# version is already there; exits non-zero, loudly, when it cannot be fetched.
set -euo pipefail

version="6.11.1"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
prefix="$root/.cache/npm"
manifest="$prefix/node_modules/@asyncapi/specs/package.json"

if [ -f "$manifest" ] && grep -q "\"version\": \"$version\"" "$manifest"; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "ERROR: npm is needed to fetch @asyncapi/specs@$version (install Node.js 18+)" >&2
  exit 1
fi
mkdir -p "$prefix"
if ! npm install --prefix "$prefix" --no-save --no-package-lock --no-audit --no-fund \
  --ignore-scripts --loglevel=error "@asyncapi/specs@$version" >&2; then
  echo "ERROR: could not fetch @asyncapi/specs@$version from the npm registry" >&2
  exit 1
fi
if ! grep -q "\"version\": \"$version\"" "$manifest"; then
  echo "ERROR: $manifest is not @asyncapi/specs $version after npm install" >&2
  exit 1
fi
