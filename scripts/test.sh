#!/usr/bin/env bash
# The whole test suite, set-up included: installs Node packages (pnpm, pinned), builds the
# JavaScript kice starts from (scripts/build.mjs), the Python readers (project-local .venv),
# then runs lint, typecheck and every vitest project (unit + integration/interop). Ends with
# one plain line: "N passed, N failed".
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
pnpm() { bash "$root/scripts/pnpm.sh" "$@"; }

echo "== install (pnpm, frozen lockfile)"
pnpm install --frozen-lockfile --reporter=append-only || { echo "0 passed, 1 failed"; exit 1; }
echo "== build (scripts/build.mjs)"
node scripts/build.mjs || { echo "0 passed, 1 failed"; exit 1; }
echo "== python readers (.venv)"
KICE_PYTHON="$(bash test/infra/python-env.sh)" || { echo "0 passed, 1 failed"; exit 1; }
export KICE_PYTHON

# Integration tests start the local Kafka broker (test/infra/kafka.sh), the S3 server
# (test/infra/s3.sh), the Iceberg REST catalog (test/infra/iceberg-rest.sh) and the Schema
# Registry (test/infra/schema-registry.sh) on demand
# and leave them running for the next test file; stop them (and the shared Spark server,
# which the integration project's global teardown stops too) when the suite ends.
trap 'bash "$root/test/infra/kafka.sh" stop >/dev/null 2>&1 || true; bash "$root/test/infra/s3.sh" stop >/dev/null 2>&1 || true; bash "$root/test/infra/spark.sh" stop >/dev/null 2>&1 || true; bash "$root/test/infra/iceberg-rest.sh" stop >/dev/null 2>&1 || true; bash "$root/test/infra/schema-registry.sh" stop >/dev/null 2>&1 || true' EXIT

status=0
echo "== lint"
pnpm exec biome check . || status=1
echo "== typecheck"
pnpm -r --if-present run typecheck || status=1

echo "== tests"
report="$(mktemp -d)/vitest.json"
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=1

node -e '
const fs = require("node:fs");
let passed = 0, failed = 0, skipped = 0;
try {
  const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  passed = r.numPassedTests; failed = r.numFailedTests;
  // A file that fails to load has no failed test but a failed suite: count it once.
  if (failed === 0) failed = r.numFailedTestSuites || 0;
  skipped = (r.numPendingTests || 0) + (r.numTodoTests || 0);
} catch { failed = 1; }
if (process.argv[2] !== "0" && failed === 0) failed = 1; // lint/typecheck failure
console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$report" "$status"
exit $status
