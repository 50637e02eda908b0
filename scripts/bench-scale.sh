#!/usr/bin/env bash
# scripts/bench-scale.sh — end-to-end scale figures of the real commands
# (make bench-scale N=... [DSN=...] [RUNS=...] [STEPS=...]).
#
#   scripts/bench-scale.sh [CONTACTS] [DSN]
#
# Writes an organization of CONTACTS generated contacts (default 1,000,000;
# 20% in duplicate clusters) as JSONL, streaming (scripts/genorg), then
# times, each as its own process, with its wall time, CPU time and peak RSS
# (GNU time):
#   import  `contactmerge import` of the file into a fresh store, RUNS times
#           (default 1; the median is printed when RUNS > 1)
#   match   `contactmerge match` of the imported store
#   scan    a sandbox (its own process: its memory is not counted) serving
#           the same organization with a rate limit too high to matter; first the
#           pages/s it serves to a client that does nothing with them
#           (scripts/scanrate), then `contactmerge scan` into a fresh store
#           and the pages/s it writes, with the sandbox's CPU seconds in
#           each of the two and its RSS
# STEPS (default "import match scan") picks the steps. The store is DSN
# (default: fresh SQLite files in a temp dir; pass a postgres:// URL for
# PostgreSQL — its public schema is dropped before each fresh store).
# WORK=DIR keeps the files in DIR instead of a temp dir removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
DSN=${2:-}
RUNS=${RUNS:-1}
STEPS=${STEPS:-import match scan}
SEED=${SEED:-1}
if [ -n "${WORK:-}" ]; then
  work=$WORK; mkdir -p "$work"; keep=1
else
  work=$(mktemp -d /tmp/contactmerge-bench.XXXXXX); keep=0
fi
sbpid=
cleanup() {
  if [ -n "$sbpid" ]; then kill "$sbpid" 2>/dev/null || true; fi
  if [ "$keep" = 0 ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
command -v /usr/bin/time >/dev/null || { echo "GNU time (/usr/bin/time) is needed: apt-get install time" >&2; exit 1; }
go build -o "$work/contactmerge" ./cmd/contactmerge
go build -o "$work/genorg" ./scripts/genorg
go build -o "$work/scanrate" ./scripts/scanrate
has() { [[ " $STEPS " == *" $1 "* ]]; }

# fresh NAME: prints the DSN of an empty store.
fresh() {
  if [[ "$DSN" == postgres* ]]; then
    psql "$DSN" -qc 'DROP SCHEMA public CASCADE; CREATE SCHEMA public;' >/dev/null
    echo "$DSN"
  else
    rm -f "$work/$1.db" "$work/$1.db-wal" "$work/$1.db-shm"
    echo "$work/$1.db"
  fi
}

# measure LABEL COMMAND...: runs it, prints wall s, CPU s, peak RSS and its
# first line of output; leaves the wall seconds in $secs.
measure() {
  local label=$1; shift
  /usr/bin/time -f "%e %M %U %S" -o "$work/time" "$@" >"$work/out" 2>"$work/err" || { cat "$work/out" "$work/err"; exit 1; }
  local kib user sys
  read -r secs kib user sys <"$work/time"
  printf '%-8s %7.1f s wall %7.1f s CPU  peak RSS %6d MiB   %s\n' "$label" "$secs" "$(echo "$user + $sys" | bc)" \
    "$((kib / 1024))" "$(head -1 "$work/out")"
}

echo "contacts: $N   store: ${DSN:-SQLite}   $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
if has import && { [ ! -s "$work/org.jsonl" ] || [ "$(cat "$work/org.n" 2>/dev/null)" != "$N $SEED" ]; }; then
  measure generate "$work/genorg" -n "$N" -seed "$SEED" -o "$work/org.jsonl"
  echo "$N $SEED" >"$work/org.n"
fi

if has import; then
  times=()
  for run in $(seq "$RUNS"); do
    db=$(fresh import)
    CONTACTMERGE_DB=$db measure "import" "$work/contactmerge" import "$work/org.jsonl"
    times+=("$secs")
  done
  if [ "$RUNS" -gt 1 ]; then
    printf 'import median of %d: %s s\n' "$RUNS" "$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")"
  fi
fi
if has match; then
  has import || { echo "match needs the import step" >&2; exit 2; }
  CONTACTMERGE_DB=$db measure match "$work/contactmerge" match
fi

if has scan; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  # The sandbox generates the organization the file holds (genorg writes
  # the contacts it lists), with less memory than loading the file.
  "$work/contactmerge" sandbox --contacts "$N" --seed "$SEED" --rate-limit 100000000 --addr "127.0.0.1:$port" >"$work/sandbox.log" 2>&1 &
  sbpid=$!
  until grep -q "base URL" "$work/sandbox.log" 2>/dev/null; do
    kill -0 "$sbpid" 2>/dev/null || { cat "$work/sandbox.log"; exit 1; }
    sleep 1
  done
  export GENESYSCLOUD_REGION="http://127.0.0.1:$port" GENESYSCLOUD_OAUTHCLIENT_ID=sandbox-client \
    GENESYSCLOUD_OAUTHCLIENT_SECRET=sandbox-secret
  echo "sandbox: $(head -1 "$work/sandbox.log")   RSS $(($(awk '/VmRSS/ {print $2}' "/proc/$sbpid/status") / 1024)) MiB" \
    "(peak while generating $(($(awk '/VmHWM/ {print $2}' "/proc/$sbpid/status") / 1024)) MiB)"
  # sbcpu: the sandbox's CPU seconds so far (user + system), to tell what
  # it spent serving each step (its process shares the cores).
  sbcpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$sbpid/stat"; }
  c0=$(sbcpu)
  measure serve "$work/scanrate"
  served=$(echo "$(grep -o '^served [0-9]*' "$work/out" | cut -d' ' -f2) / $secs" | bc -l)
  c1=$(sbcpu)
  db=$(fresh scan)
  CONTACTMERGE_DB=$db measure scan "$work/contactmerge" scan
  written=$(echo "$(grep -o '[0-9]* pages' "$work/out" | head -1 | cut -d' ' -f1) / $secs" | bc -l)
  c2=$(sbcpu)
  printf 'sandbox CPU: %.1f s serving the serve step, %.1f s serving the scan; load average now %s\n' \
    "$(echo "$c1 - $c0" | bc)" "$(echo "$c2 - $c1" | bc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
  printf 'scan writes %.0f pages/s; the sandbox serves %.0f pages/s to a client that writes nothing\n' "$written" "$served"
  curl -s "$GENESYSCLOUD_REGION/sandbox/stats" | python3 -c 'import json,sys; s=json.load(sys.stdin); r=s["requests"]; print("scan requests (serve + scan):", sum(r.get("GET /api/v2/externalcontacts/scan/contacts",{}).values()), " token requests:", sum(r.get("POST /oauth/token",{}).values()))'
fi
