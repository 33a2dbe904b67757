#!/usr/bin/env bash
# The first deploy, and every later one: creates what is missing on the Cloudflare account
# wrangler is logged into (KV namespace, D1 database, the two queues), records their ids in
# wrangler.toml, applies unapplied D1 migrations, asks for each missing setting (offering random
# values where the merchant chooses them), deploys the Worker when it changed, and prints what
# to paste into each platform's console.
#
# Idempotent: a run over a complete setup only lists things, creates and puts nothing, and
# skips `wrangler deploy` when build/ and wrangler.toml hash as at the last deploy.
#
#   bash scripts/deploy.sh [--yes] [--force] [--url BASE] [--ask-skipped]
#
# Answers come from the terminal or, one a line, from stdin. Secrets are read without echo,
# handed to `wrangler secret put` on its stdin (never in argv) and written to no file. The first
# Zalo refresh token is no Worker secret: after the deploy it goes to PUT /api/zalo/token.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'EOF'
usage: bash scripts/deploy.sh [--yes] [--force] [--url BASE] [--ask-skipped]
  --yes          generate ADMIN_TOKEN, ORDER_WEBHOOK_SECRET and the Token / EncodingAESKey
                 pairs (WECHAT_*, SHOP_*) without asking, when they are not set yet
  --force        run `wrangler deploy` even when the Worker did not change
  --url BASE     the Worker's public base URL for the printed callback URLs (a custom domain);
                 default: the workers.dev URL wrangler deploy printed
  --ask-skipped  ask again for settings skipped (empty answer) in an earlier run
EOF
}

YES=0 FORCE=0 ASK_SKIPPED=0 BASE_URL=""
while [ $# -gt 0 ]; do
  case $1 in
    -y | --yes) YES=1 ;;
    --force) FORCE=1 ;;
    --ask-skipped) ASK_SKIPPED=1 ;;
    --url) [ $# -ge 2 ] || { usage >&2; exit 2; }; BASE_URL=$2; shift ;;
    --url=*) BASE_URL=${1#--url=} ;;
    -h | --help) usage; exit 0 ;;
    *) echo "deploy.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
if [ -n "$BASE_URL" ]; then
  [[ $BASE_URL =~ ^https?://[^/[:space:]]+/*$ ]] || { echo "deploy.sh: --url wants https://host, got $BASE_URL" >&2; exit 2; }
  BASE_URL=${BASE_URL%%/}
fi

# The names the Worker's code expects (the binding names are in wrangler.toml).
KV_TITLE=kefu-kv
# Earlier instructions said `wrangler kv namespace create KEFU_KV`, which titles it KEFU_KV.
KV_TITLES_ACCEPTED="$KV_TITLE KEFU_KV"
QUEUES="kefu-events kefu-events-dlq"

bash scripts/setup.sh

# `wrangler` is looked up on PATH with the project's pinned one last: a test puts a fake first.
PATH="$PATH:$PWD/node_modules/.bin"
WRANGLER=$(command -v wrangler) || { echo "deploy.sh: no wrangler (scripts/setup.sh installs it)" >&2; exit 1; }
if [ "$WRANGLER" != "$PWD/node_modules/.bin/wrangler" ]; then
  echo "note: using $WRANGLER (first on PATH), not the project's pinned node_modules/.bin/wrangler"
fi

STATE=.wrangler/kefu-deploy # what this script remembers between runs (.wrangler is git-ignored)
mkdir -p "$STATE"
touch "$STATE/skipped"
TMP=$(mktemp -d) # wrangler's output (never a secret: secrets go in on stdin, not out)
OUT=$TMP/out ERR=$TMP/err
GENERATED_PUT="" # generated secrets already put and not yet shown

lib() { node scripts/deploy-lib.mjs "$@"; }
die() { echo "deploy.sh: $*" >&2; exit 1; }

on_exit() {
  local status=$?
  rm -rf "$TMP"
  # A generated secret is put before the deploy; if anything after fails, show it now, since
  # a later run will find it set and cannot show it again.
  if [ "$status" -ne 0 ] && [ -n "$GENERATED_PUT" ]; then
    echo >&2
    echo "!! These secrets were generated and stored on the Worker before the failure; copy them" >&2
    echo "!! now (they are shown only this once), then run deploy.sh again:" >&2
    for name in $GENERATED_PUT; do printf '!!   %s = %s\n' "$name" "$(value_of "$name")" >&2; done
  fi
  exit "$status"
}
trap on_exit EXIT

# --- wrangler calls. None gets this script's stdin: answers piped to deploy.sh are not for
# wrangler, and without a terminal wrangler asks no questions of its own.

# wr ARGS: runs `wrangler ARGS` quietly, its stdout left in $OUT; on failure shows what it said
# and stops.
wr() {
  local rc=0
  wrangler "$@" </dev/null >"$OUT" 2>"$ERR" || rc=$?
  [ "$rc" -eq 0 ] || fail_call "$rc" "$@"
}
fail_call() {
  local rc=$1
  shift
  {
    echo "deploy.sh: \`wrangler $*\` failed (exit $rc):"
    if [ -s "$OUT" ] || [ -s "$ERR" ]; then sed 's/^/  /' "$OUT" "$ERR"; else echo "  (its output is above)"; fi
    echo "Nothing after this step was done; fix the cause and run deploy.sh again (it skips what is done)."
  } >&2
  exit "$rc"
}
# wr_live ARGS: the same, but showing wrangler's output as it comes (it changes things).
wr_live() {
  echo "+ wrangler $*"
  local rc
  # errexit off for the pipeline, or a failure would stop us before the message below.
  set +e
  wrangler "$@" </dev/null 2>&1 | tee "$OUT" | sed 's/^/  /'
  rc=${PIPESTATUS[0]}
  set -e
  : >"$ERR"
  [ "$rc" -eq 0 ] || : >"$OUT" # shown already
  [ "$rc" -eq 0 ] || fail_call "$rc" "$@"
}

# --- answers

STDIN_EOF=0
ANSWER=""
# ask PROMPT [hidden]: one line from stdin into $ANSWER, trimmed; returns 1 once stdin has ended.
ask() {
  ANSWER=""
  [ "$STDIN_EOF" -eq 0 ] || return 1
  printf '%s' "$1" >&2
  local line
  if [ "${2:-}" = hidden ]; then
    IFS= read -r -s line || STDIN_EOF=1
  else
    IFS= read -r line || STDIN_EOF=1
  fi
  # End the prompt's line where no terminal echoed the Enter (hidden input, or piped answers).
  [ -t 0 ] && [ "${2:-}" != hidden ] || echo >&2
  [ "$STDIN_EOF" -eq 0 ] || [ -n "$line" ] || { echo "(no more input)" >&2; return 1; }
  line=${line#"${line%%[![:space:]]*}"}
  ANSWER=${line%"${line##*[![:space:]]}"}
}

# The value of a setting given in this run lives in a shell variable VALUE_<NAME> only.
value_of() { local v="VALUE_$1"; printf '%s' "${!v:-}"; }
set_value() { printf -v "VALUE_$1" '%s' "$2"; }
is_generated() { local v="GENERATED_$1"; [ -n "${!v:-}" ]; }

was_skipped() { [ "$ASK_SKIPPED" -eq 0 ] && grep -qx "$1" "$STATE/skipped"; }
remember_skip() { grep -qx "$1" "$STATE/skipped" || echo "$1" >>"$STATE/skipped"; }
forget_skip() { grep -vx "$1" "$STATE/skipped" >"$TMP/skipped" || true; cat "$TMP/skipped" >"$STATE/skipped"; }

# valid NAME VALUE: is VALUE of the form NAME needs? (prints why not)
valid() {
  case $1 in
    WECHAT_TOKEN | SHOP_TOKEN) [[ $2 =~ ^[A-Za-z0-9]{3,32}$ ]] || { echo "  a Token is 3 to 32 letters and digits" >&2; return 1; } ;;
    WECHAT_AES_KEY | SHOP_AES_KEY) [[ $2 =~ ^[A-Za-z0-9]{43}$ ]] || { echo "  an EncodingAESKey is exactly 43 letters and digits" >&2; return 1; } ;;
    WECHAT_APPID | SHOP_APPID) [[ $2 =~ ^wx[A-Za-z0-9]{16}$ ]] || { echo "  an AppID is wx and 16 letters or digits" >&2; return 1; } ;;
    ZALO_APP_ID) [[ $2 =~ ^[0-9]{5,32}$ ]] || { echo "  a Zalo App ID is digits" >&2; return 1; } ;;
    CARESOFT_BASE_URL) [[ $2 =~ ^https?://[^[:space:]\"]+$ ]] || { echo "  a URL starting with https://" >&2; return 1; } ;;
    *) [[ $2 != *[[:cntrl:]]* ]] || { echo "  no control characters" >&2; return 1; } ;;
  esac
}

# generate NAME: a strong random value of the shape NAME needs.
generate() {
  case $1 in
    WECHAT_TOKEN | SHOP_TOKEN) lib gen alnum 32 ;; # the longest the consoles accept
    WECHAT_AES_KEY | SHOP_AES_KEY) lib gen aes-key ;;
    *) lib gen alnum 48 ;; # ADMIN_TOKEN, ORDER_WEBHOOK_SECRET: about 285 bits
  esac
}

# settle NAME KIND GEN DESCRIPTION: asks for a missing setting and keeps the answer in
# VALUE_<NAME> (GENERATED_<NAME>=1 when generated). An empty answer skips it, remembered so
# later runs do not ask again; the end of stdin skips it for this run only.
settle() {
  local name=$1 kind=$2 gen=$3 what=$4 tries=0
  if was_skipped "$name"; then
    echo "  $name: skipped in an earlier run (--ask-skipped to be asked again)"
    return 0
  fi
  echo "$name ($kind): $what"
  if [ -n "$gen" ]; then
    local yes=$YES
    if [ "$yes" -eq 0 ]; then
      ask "  Generate a strong random $name? [Y/n] " || { echo "  $name left unset for now"; return 0; }
      case $ANSWER in "" | [yY]*) yes=1 ;; esac
    fi
    if [ "$yes" -eq 1 ]; then
      local value
      value=$(generate "$name")
      set_value "$name" "$value"
      printf -v "GENERATED_$name" 1
      echo "  $name: generated (shown at the end)"
      return 0
    fi
  fi
  local hidden=""
  [ "$kind" = var ] || hidden=hidden
  while :; do
    ask "  Enter $name${hidden:+ (input hidden)}, or nothing to skip: " ${hidden:+"$hidden"} ||
      { echo "  $name left unset for now"; return 0; }
    if [ -z "$ANSWER" ]; then
      remember_skip "$name"
      echo "  $name skipped"
      return 0
    fi
    if valid "$name" "$ANSWER"; then
      set_value "$name" "$ANSWER"
      forget_skip "$name"
      return 0
    fi
    tries=$((tries + 1))
    [ "$tries" -lt 3 ] || die "no valid $name after 3 tries"
  done
}

# Every setting, grouped by platform: NAME|var or secret|generate?|what it is.
SETTINGS="\
WECHAT_APPID|var||the Official Account's AppID (wx…), checked after decryption
WECHAT_TOKEN|secret|gen|令牌(Token) of the Official Account's server configuration, 3-32 letters/digits you choose
WECHAT_AES_KEY|secret|gen|消息加解密密钥(EncodingAESKey) of the Official Account, 43 letters/digits you choose
WECHAT_APPSECRET|secret||the Official Account's AppSecret (for the access_token)
PAY_SIGN_KEY|secret||paySignKey that signs WeChat Pay complaint (维权) notifications
SHOP_APPID|var||the WeChat Shop's AppID
SHOP_TOKEN|secret|gen|Token of the WeChat Shop's message push, 3-32 letters/digits you choose
SHOP_AES_KEY|secret|gen|EncodingAESKey of the WeChat Shop's message push, 43 letters/digits you choose
SHOP_APPSECRET|secret||the WeChat Shop's own AppSecret (its access_token, to answer buyers)
ORDER_WEBHOOK_SECRET|secret|gen|HMAC key your card shop signs /hooks/orders calls with
CARESOFT_BASE_URL|var||CareSoft API base URL (https://…), if you use CareSoft
CARESOFT_API_TOKEN|secret||CareSoft API token, if you use CareSoft
WECOM_ROBOT_KEY|secret||key of the WeCom group robot that alerts staff (the key= of its webhook URL)
ZALO_APP_ID|var||the Zalo app's App ID (developers.zalo.me), if you use a Zalo OA
ZALO_APP_SECRET|secret||the Zalo app's Secret key (khóa bí mật của ứng dụng)
ZALO_OA_SECRET_KEY|secret||the OA Secret Key that signs Zalo's webhook calls (X-ZEvent-Signature)
ADMIN_TOKEN|secret|gen|bearer token of the admin API (/api/*)"

# === 1. What exists (read only)
echo "== Reading what exists on the Cloudflare account (npx wrangler whoami shows which; npx wrangler login to change)"

wr kv namespace list
KV_LIST=$(cat "$OUT")
KV_ID=$(lib toml-get wrangler.toml kv-id)
KV_CREATE=0
if [ -n "$KV_ID" ]; then
  found=$(lib find-json id "$KV_ID" id <<<"$KV_LIST")
  [ -n "$found" ] ||
    die "wrangler.toml names KV namespace $KV_ID, which this account does not have (wrong account? npx wrangler whoami). Put back the placeholder id 00000000000000000000000000000000 to have one created."
  echo "KV namespace: $KV_ID (from wrangler.toml)"
else
  for title in $KV_TITLES_ACCEPTED; do
    KV_ID=$(lib find-json title "$title" id <<<"$KV_LIST")
    [ -z "$KV_ID" ] || { echo "KV namespace: \"$title\" exists, $KV_ID"; break; }
  done
  [ -n "$KV_ID" ] || { KV_CREATE=1; echo "KV namespace: \"$KV_TITLE\" to be created"; }
fi

D1_NAME=$(lib toml-get wrangler.toml d1-name)
wr d1 list --json
D1_LIST=$(cat "$OUT")
D1_ID=$(lib toml-get wrangler.toml d1-id)
D1_CREATE=0
if [ -n "$D1_ID" ]; then
  found=$(lib find-json uuid "$D1_ID" uuid <<<"$D1_LIST")
  [ -n "$found" ] ||
    die "wrangler.toml names D1 database $D1_ID, which this account does not have (wrong account? npx wrangler whoami). Put back the placeholder id 00000000-0000-0000-0000-000000000000 to have one created."
  echo "D1 database: $D1_ID (from wrangler.toml)"
else
  D1_ID=$(lib find-json name "$D1_NAME" uuid <<<"$D1_LIST")
  if [ -n "$D1_ID" ]; then echo "D1 database: \"$D1_NAME\" exists, $D1_ID"; else D1_CREATE=1; echo "D1 database: \"$D1_NAME\" to be created"; fi
fi

# `queues list` prints a table a page at a time: read pages until one brings no new name.
QUEUE_NAMES=""
page=1
while [ "$page" -le 100 ]; do
  wr queues list --page "$page"
  listed=$(lib table-column name <"$OUT")
  new=""
  for q in $listed; do
    case " $QUEUE_NAMES " in *" $q "*) ;; *) new="$new $q" ;; esac
  done
  [ -n "$new" ] || break
  QUEUE_NAMES="$QUEUE_NAMES$new"
  page=$((page + 1))
done
QUEUES_MISSING=""
for q in $QUEUES; do
  case " $QUEUE_NAMES " in *" $q "*) echo "Queue: $q exists" ;; *) QUEUES_MISSING="$QUEUES_MISSING $q"; echo "Queue: $q to be created" ;; esac
done

# Before the first deploy there is no Worker, hence no secrets: that error means an empty list.
rc=0
wrangler secret list --format json </dev/null >"$OUT" 2>"$ERR" || rc=$?
if [ "$rc" -eq 0 ]; then
  SECRET_NAMES=$(lib json-names <"$OUT")
elif grep -qiE 'Worker .*not found' "$OUT" "$ERR"; then
  SECRET_NAMES=""
  echo "Worker: not deployed yet, so no secrets are set"
else
  fail_call "$rc" secret list --format json
fi
VAR_NAMES=$(lib toml-get wrangler.toml vars)
has_secret() { printf '%s\n' "$SECRET_NAMES" | grep -qx "$1"; }
has_var() { printf '%s\n' "$VAR_NAMES" | grep -qx "$1"; }

# === 2. Questions, all before anything changes
echo
echo "== Settings"
TOML_EDITS=() SECRETS_TO_PUT=""
# The list comes in on fd 3: stdin stays free for the answers.
while IFS='|' read -r name kind gen what <&3; do
  if [ "$kind" = var ]; then
    has_var "$name" && continue
  else
    has_secret "$name" && continue
  fi
  settle "$name" "$kind" "$gen" "$what"
  [ -n "$(value_of "$name")" ] || continue
  if [ "$kind" = var ]; then
    TOML_EDITS+=("var:$name=$(value_of "$name")")
  else
    SECRETS_TO_PUT="$SECRETS_TO_PUT $name"
  fi
done 3<<<"$SETTINGS"

# Zalo's first refresh token is single-use and the Worker rotates it, so it is no secret to put:
# it goes to PUT /api/zalo/token after the deploy, with the owner's ADMIN_TOKEN. Asked once Zalo
# is set up, until a run stored it (the marker file holds a date, never the token).
ZALO_TOKEN_STORED=$STATE/zalo-refresh-token-stored
ZALO_ADMIN_TOKEN=""
if { has_secret ZALO_APP_SECRET || [ -n "$(value_of ZALO_APP_SECRET)" ]; } && [ ! -f "$ZALO_TOKEN_STORED" ]; then
  settle ZALO_REFRESH_TOKEN "stored by PUT /api/zalo/token after the deploy" "" \
    "the Zalo OA's first refresh token (OAuth v4, single-use; the Worker keeps it fresh from then on)"
  ZALO_ADMIN_TOKEN=$(value_of ADMIN_TOKEN)
  if [ -n "$(value_of ZALO_REFRESH_TOKEN)" ] && [ -z "$ZALO_ADMIN_TOKEN" ] && has_secret ADMIN_TOKEN; then
    ask "  ADMIN_TOKEN to store it with (input hidden; nothing to be shown the curl command instead): " hidden &&
      ZALO_ADMIN_TOKEN=$ANSWER
  fi
fi
[ ${#TOML_EDITS[@]} -gt 0 ] || [ -n "$SECRETS_TO_PUT" ] || [ -n "$(value_of ZALO_REFRESH_TOKEN)" ] ||
  echo "Nothing new to set."

# === 3. Build first: a Worker that does not build stops us before anything is created.
echo
echo "== Building the Worker (scripts/build.sh)"
bash scripts/build.sh
[ -f build/index.js ] || die "scripts/build.sh did not produce build/index.js"

# === 4. Create what is missing, then record ids and vars in wrangler.toml in one atomic write.
# wrangler.toml itself, not a separate deploy config: the ids are not secret, dev.sh, test.sh and
# deploy all read this one file, and the merchant commits it. (wrangler 4.86's own
# --update-config patches JSON configs only; for TOML it just prints a snippet.)
echo
echo "== Resources"
if [ "$KV_CREATE" -eq 1 ]; then
  wr_live kv namespace create "$KV_TITLE"
  # Read the id back from the list rather than from create's human-oriented output.
  wr kv namespace list
  KV_ID=$(lib find-json title "$KV_TITLE" id <"$OUT")
  [ -n "$KV_ID" ] || die "KV namespace \"$KV_TITLE\" was created but is not listed"
fi
if [ "$D1_CREATE" -eq 1 ]; then
  wr_live d1 create "$D1_NAME"
  wr d1 list --json
  D1_ID=$(lib find-json name "$D1_NAME" uuid <"$OUT")
  [ -n "$D1_ID" ] || die "D1 database \"$D1_NAME\" was created but is not listed"
fi
before=$(lib hash wrangler.toml)
lib toml-set wrangler.toml "kv-id=$KV_ID" "d1-id=$D1_ID" ${TOML_EDITS[@]+"${TOML_EDITS[@]}"}
[ "$before" = "$(lib hash wrangler.toml)" ] || echo "wrangler.toml: ids and settings recorded (commit it: the ids are not secret)"
for q in $QUEUES_MISSING; do
  wr_live queues create "$q"
done
echo "KV $KV_ID, D1 $D1_ID, queues $QUEUES: ready"

# === 5. D1 migrations, only when some are unapplied.
wr d1 migrations list KEFU_DB --remote
if grep -q "No migrations to apply" "$OUT"; then
  echo "D1 migrations: all applied"
elif grep -q "Migrations to be applied" "$OUT"; then
  wr_live d1 migrations apply KEFU_DB --remote
else
  { echo "deploy.sh: cannot tell from \`wrangler d1 migrations list\` what is unapplied:"; sed 's/^/  /' "$OUT"; } >&2
  exit 1
fi

# === 6. Secrets, each on wrangler's stdin (a pipe: never in argv, a file or the terminal).
for name in $SECRETS_TO_PUT; do
  rc=0
  value_of "$name" | wrangler secret put "$name" >"$OUT" 2>"$ERR" || rc=$?
  [ "$rc" -eq 0 ] || fail_call "$rc" secret put "$name"
  echo "+ wrangler secret put $name: done"
  ! is_generated "$name" || GENERATED_PUT="$GENERATED_PUT $name"
done

# === 7. Deploy when the build or the configuration changed since the last deploy.
echo
HASH=$(lib hash build wrangler.toml)
if [ "$FORCE" -eq 0 ] && [ "$HASH" = "$(cat "$STATE/deployed.sha256" 2>/dev/null)" ]; then
  echo "== Worker unchanged since the last deploy: not deploying (--force to deploy anyway)"
else
  echo "== Deploying"
  # build/ is fresh (step 3): scripts/build.sh, which wrangler runs as [build], may skip.
  export KEFU_PREBUILT=1
  wr_live deploy
  echo "$HASH" >"$STATE/deployed.sha256"
  url=$(lib base-url <"$OUT")
  [ -z "$url" ] || echo "$url" >"$STATE/url"
  [ -n "$BASE_URL" ] || BASE_URL=$url
fi

# === 8. What to paste where.
[ -n "$BASE_URL" ] || BASE_URL=$(cat "$STATE/url" 2>/dev/null || true)
if [ -z "$BASE_URL" ] && ask "The Worker's URL (https://…; nothing to leave a placeholder): " && [ -n "$ANSWER" ]; then
  BASE_URL=${ANSWER%%/}
fi
[ -n "$BASE_URL" ] || BASE_URL="https://<your-worker>"

is_set() { has_secret "$1" || [ -n "$(value_of "$1")" ]; }
# show NAME DESCRIPTION: a generated value once, clearly marked; otherwise where it came from.
show() {
  if is_generated "$1"; then
    printf '    %s: %s   <== GENERATED: copy it now, it is shown only this once\n' "$2" "$(value_of "$1")"
  elif is_set "$1"; then
    printf '    %s: the %s you set\n' "$2" "$1"
  else
    printf '    %s: (not set; deploy.sh --ask-skipped asks for %s again)\n' "$2" "$1"
  fi
}

# The consoles' own labels, as README "What to paste in each console" gives them.
cat <<EOF

== Live at $BASE_URL
Paste these into each platform's console:

  Official Account (公众号): 设置与开发 → 基本配置 → 服务器配置 → 修改配置
    服务器地址(URL): $BASE_URL/wechat/oa
EOF
show WECHAT_TOKEN "令牌(Token)"
show WECHAT_AES_KEY "消息加解密密钥(EncodingAESKey)"
if is_set WECHAT_AES_KEY; then
  echo "    消息加解密方式: 安全模式 (safe mode)"
else
  echo "    消息加解密方式: 明文模式 (plain mode) until WECHAT_AES_KEY is set"
fi
cat <<EOF
    then 提交 (WeChat checks the URL at once) and 启用

  WeChat Shop (微信小店): 消息推送 (message push)
    URL: $BASE_URL/wechat/shop
EOF
show SHOP_TOKEN "Token"
show SHOP_AES_KEY "EncodingAESKey"
cat <<EOF
    消息加密方式: 安全模式; 数据格式: JSON or XML (both are read)

  WeChat Pay complaints (维权): give your WeChat Pay contact this payfeedback_url
    payfeedback_url: $BASE_URL/wechat/payfeedback

  Card shop (发卡平台): its webhook settings (README "Connect your card shop")
    URL: $BASE_URL/hooks/orders
EOF
show ORDER_WEBHOOK_SECRET "secret (ORDER_WEBHOOK_SECRET)"
cat <<EOF

  Zalo OA: your app on developers.zalo.me → Webhook
    Webhook URL: $BASE_URL/zalo/oa
    and subscribe it to the user_send_* events, follow and unfollow
EOF
cat <<EOF

  Admin API: $BASE_URL/api/… with the header Authorization: Bearer <ADMIN_TOKEN>
EOF
show ADMIN_TOKEN "ADMIN_TOKEN"
GENERATED_PUT="" # shown: the exit handler need not show them again
echo
echo "Health check: curl $BASE_URL/healthz"
if [ -d src/bin/kefu-check ]; then
  echo "Check every callback with your settings: cargo run --release --bin kefu-check -- --url $BASE_URL --vars <file>"
fi

# === 9. Zalo's first refresh token, to the deployed Worker (both values on the helper's stdin).
if [ -n "$(value_of ZALO_REFRESH_TOKEN)" ]; then
  echo
  rc=1
  if [ -n "$ZALO_ADMIN_TOKEN" ] && [[ $BASE_URL != *"<"* ]]; then
    rc=0
    printf '%s\n%s\n' "$ZALO_ADMIN_TOKEN" "$(value_of ZALO_REFRESH_TOKEN)" | lib put-zalo-token "$BASE_URL" || rc=$?
  fi
  if [ "$rc" -eq 0 ]; then
    date -u +%Y-%m-%dT%H:%M:%SZ >"$ZALO_TOKEN_STORED"
    echo "Zalo: the first refresh token is stored (PUT $BASE_URL/api/zalo/token)"
  else
    echo "Zalo: the refresh token is not stored yet. Run this, with your ADMIN_TOKEN and the refresh token in place of <…>:"
    echo "  curl -X PUT $BASE_URL/api/zalo/token -H 'Authorization: Bearer <ADMIN_TOKEN>' -H 'Content-Type: application/json' -d '{\"refresh_token\": \"<refresh token>\"}'"
  fi
fi
