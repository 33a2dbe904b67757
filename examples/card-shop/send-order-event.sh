#!/usr/bin/env bash
# Sends one card-shop order event to kefu-edge, signed with the webhook secret.
#   bash send-order-event.sh https://<your-worker>/hooks/orders "$ORDER_WEBHOOK_SECRET" event.json
# (or the event JSON on standard input). Prints kefu-edge's answer; exits non-zero unless 2xx.
set -euo pipefail
url=$1
secret=$2
body=$(cat "${3:-/dev/stdin}")
ts=$(date +%s)
# X-Kefu-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
sig=$(printf '%s.%s' "$ts" "$body" | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)
curl -sS --fail-with-body -X POST "$url" \
  -H 'content-type: application/json' \
  -H "X-Kefu-Timestamp: $ts" \
  -H "X-Kefu-Signature: sha256=$sig" \
  --data-binary "$body"
echo
