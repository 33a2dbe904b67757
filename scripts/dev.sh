#!/usr/bin/env bash
# Runs the Worker locally on http://localhost:8787 with local KV, Queue and D1 (persisted under
# .wrangler/state) and the development settings in .dev.vars. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -f .dev.vars ] || cp .dev.vars.example .dev.vars
STATE=.wrangler/state
npx --no-install wrangler d1 migrations apply KEFU_DB --local --persist-to "$STATE"
# --test-scheduled exposes /__scheduled?cron=... since cron triggers do not fire locally.
exec npx --no-install wrangler dev --port "${PORT:-8787}" --ip 127.0.0.1 --persist-to "$STATE" --test-scheduled "$@"
