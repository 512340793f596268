#!/usr/bin/env bash
# The demo, set-up included: installs Node packages (pinned pnpm), builds (scripts/build.mjs),
# then runs `kice demo`:
# a local Apache Kafka broker (jars from Maven Central, cached), generated events streaming
# into a local-folder Iceberg warehouse with live progress, then results.
# Options pass through: scripts/demo.sh --seconds 120 --rate 8000   (--seconds 0: until Ctrl-C)
# --stack s3-rest: the same demo into an Iceberg REST catalog (test/infra/iceberg-rest.sh)
# with its warehouse on the local S3 server (test/infra/s3.sh), both started here.
# --avro: adds an Avro topic through the local Schema Registry (test/infra/schema-registry.sh),
# started here beside the broker (its first start takes about half a minute); without it, the
# Avro topic is added when the local registry already runs (--no-avro: never).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/pnpm.sh install --frozen-lockfile --reporter=silent
node scripts/build.mjs --quiet # the JavaScript kice and its threads start from (scripts/build.mjs)
exec apps/cli/bin/kice.mjs demo "$@"
