#!/usr/bin/env bash
# `npm test`: lint, types, every Jest tier and the API fuzzing run, each run even when an
# earlier one failed, then one closing line `N passed, M failed` that counts every Jest test,
# every fuzz case, and lint and typecheck as one check each (scripts/test-summary.mjs).
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .local
rm -f .local/test-results.json .local/fuzz/summary.json

failed_checks=()
npm run -s lint || failed_checks+=(lint)
npm run -s typecheck || failed_checks+=(typecheck)
npm run -s jest -- --json --outputFile=.local/test-results.json || failed_checks+=(jest)
npm run -s fuzz || failed_checks+=(fuzz)

node scripts/test-summary.mjs "${failed_checks[@]}"
