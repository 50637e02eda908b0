#!/usr/bin/env bash
# scripts/bench-scale.sh — end-to-end scale figures of the real commands.
#
#   scripts/bench-scale.sh [CONTACTS] [DSN]
#
# Starts a sandbox with CONTACTS generated contacts (default 1,000,000; 20% in
# duplicate clusters) and a rate limit too high to matter, then times `contactmerge scan` and
# `contactmerge match` into the store DSN (default: a fresh SQLite file in a
# temp dir; pass a postgres:// URL for PostgreSQL — its tables are dropped
# first), with the peak memory of each command (GNU time) and the requests
# the scan used (the sandbox's /sandbox/stats).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
DSN=${2:-}
work=$(mktemp -d /tmp/contactmerge-bench.XXXXXX)
trap 'kill $sbpid 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/contactmerge" ./cmd/contactmerge
command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null 2>&1 || true; }
if [ -z "$DSN" ]; then DSN="$work/bench.db"; fi
if [[ "$DSN" == postgres* ]]; then
  psql "$DSN" -qc 'DROP SCHEMA public CASCADE; CREATE SCHEMA public;' >/dev/null
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$work/contactmerge" sandbox --contacts "$N" --seed 1 --rate-limit 100000000 --addr "127.0.0.1:$port" >"$work/sandbox.log" 2>&1 &
sbpid=$!
until grep -q "base URL" "$work/sandbox.log" 2>/dev/null; do
  kill -0 $sbpid 2>/dev/null || { cat "$work/sandbox.log"; exit 1; }
  sleep 1
done
export GENESYSCLOUD_REGION="http://127.0.0.1:$port" GENESYSCLOUD_OAUTHCLIENT_ID=sandbox-client \
  GENESYSCLOUD_OAUTHCLIENT_SECRET=sandbox-secret CONTACTMERGE_DB="$DSN"

measure() { # label, command...
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/out" 2>"$work/err" || { cat "$work/out" "$work/err"; exit 1; }
  read -r secs kib <"$work/time"
  printf '%-6s %8.1f s  peak RSS %6.0f MiB   %s\n' "$label" "$secs" "$((kib / 1024))" "$(head -1 "$work/out")"
}
echo "contacts: $N   store: ${DSN%%\?*}"
measure scan "$work/contactmerge" scan
curl -s "$GENESYSCLOUD_REGION/sandbox/stats" | python3 -c 'import json,sys; s=json.load(sys.stdin); r=s["requests"]; print("scan requests:", sum(r.get("GET /api/v2/externalcontacts/scan/contacts",{}).values()), " token requests:", sum(r.get("POST /oauth/token",{}).values()))'
measure match "$work/contactmerge" match
