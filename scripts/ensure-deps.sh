#!/usr/bin/env bash
# Installs what `npm start` and `npm test` need, only when missing or out of date:
# the npm packages (Node 24 among them, from the `node` package) and the emulator's
# Python virtual environment (.venv, from emulator/requirements.txt). A first run takes a
# minute or two, so each stage says what it is doing.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "ensure-deps: $*" >&2; }

if [ ! -x node_modules/.bin/node ] || [ ! -f node_modules/.package-lock.json ] \
  || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  started=$SECONDS
  # The Node that runs every script: the pinned `node` devDependency.
  project_node=$(node -p "require('./package.json').devDependencies.node")
  if [ "$(node -p 'process.versions.node.split(".")[0]')" = "${project_node%%.*}" ]; then
    say "installing npm packages (npm ci)"
    npm ci --no-audit --no-fund >&2
  else
    # npm checks every package's `engines` against the Node that runs npm, and some need
    # Node 22 or later: run npm ci on the project's own Node (fetched once into npm's cache)
    # so a Node 20 host installs without EBADENGINE warnings about a Node it will not use.
    say "installing npm packages (npm ci on Node $project_node; this host has $(node --version))"
    npm exec --yes --package="node@$project_node" -- npm ci --no-audit --no-fund >&2
  fi
  say "npm packages ready ($((SECONDS - started)) s)"
fi

stamp=.venv/.requirements.sha256
wanted=$(sha256sum emulator/requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  started=$SECONDS
  command -v python3 >/dev/null || { say "python3 is required (3.9 or later)"; exit 1; }
  say "creating the emulator environment in .venv"
  python3 -m venv .venv
  say "installing moto, schemathesis and cfn-lint into .venv (pip; about a minute the first time)"
  # pip's own output is a few hundred lines: keep it in a log, show a line per ten packages
  # resolved, and print the whole log if pip fails.
  log=.venv/pip-install.log
  if ! .venv/bin/pip install --disable-pip-version-check --progress-bar off -r emulator/requirements.txt 2>&1 \
    | tee "$log" \
    | awk '
        /^Collecting / { n++; if (n % 10 == 0) { printf "ensure-deps:   %d packages resolved so far (latest: %s)\n", n, $2 > "/dev/stderr"; fflush("/dev/stderr") } }
        /^Installing collected packages/ { printf "ensure-deps:   installing %d packages\n", n > "/dev/stderr"; fflush("/dev/stderr") }'; then
    say "pip failed; its output ($log):"
    cat "$log" >&2
    exit 1
  fi
  echo "$wanted" > "$stamp"
  say "emulator environment ready ($((SECONDS - started)) s)"
fi
