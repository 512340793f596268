#!/usr/bin/env bash
# Runs the pinned pnpm (from package.json "packageManager") without a global install:
# a machine with only Node and npm needs nothing else. npx caches it per user.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="$(node -p "require('$root/package.json').packageManager.split('@')[1]")"
exec npx -y "pnpm@$version" "$@"
