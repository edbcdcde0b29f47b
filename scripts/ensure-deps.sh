#!/usr/bin/env bash
# Installs what `npm start` and `npm test` need, only when missing or out of date:
# the npm packages (Node 24 among them, from the `node` package) and the emulator's
# Python virtual environment (.venv, from emulator/requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x node_modules/.bin/node ] || [ ! -f node_modules/.package-lock.json ] \
  || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "ensure-deps: installing npm packages" >&2
  npm ci --no-audit --no-fund >&2
fi

stamp=.venv/.requirements.sha256
wanted=$(sha256sum emulator/requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  command -v python3 >/dev/null || { echo "ensure-deps: python3 is required (3.9 or later)" >&2; exit 1; }
  echo "ensure-deps: creating the emulator environment in .venv" >&2
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r emulator/requirements.txt >&2
  echo "$wanted" > "$stamp"
fi
