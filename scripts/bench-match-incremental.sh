#!/usr/bin/env bash
# scripts/bench-match-incremental.sh — incremental against full match of
# the real command (make bench-match-incremental N=... [SHARE=0.01] [RUNS=3]).
#
#   scripts/bench-match-incremental.sh [CONTACTS]
#
# Generates CONTACTS contacts (default 1,000,000; 20% in duplicate
# clusters; scripts/genorg), imports them into a fresh SQLite store and
# runs the first `contactmerge match` (a full match that estimates the
# model and keeps its state). Then RUNS times (default 3): changes SHARE of
# the contacts (default 0.01; scripts/matchmutate: edits, new contacts and
# duplicates, deletions, platform merges), copies the store, and times
# `contactmerge match` (incremental) on the store and `contactmerge match
# --full` (every contact, the kept model) on the copy, each its own process
# with wall time, CPU time and peak RSS (GNU time), and checks that both
# leave the same groups (id, state, survivor, confidence, content hash).
# It prints the medians and their ratios (wall and CPU time). WORK=DIR
# keeps the files in DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
RUNS=${RUNS:-3}
SHARE=${SHARE:-0.01}
if [ -n "${WORK:-}" ]; then
  work=$WORK; mkdir -p "$work"; keep=1
else
  work=$(mktemp -d /tmp/contactmerge-inc.XXXXXX); keep=0
fi
trap '[ "$keep" = 1 ] || rm -rf "$work"' EXIT
command -v /usr/bin/time >/dev/null || { echo "GNU time (/usr/bin/time) is needed: apt-get install time" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "sqlite3 is needed to compare the groups" >&2; exit 1; }
go build -o "$work/contactmerge" ./cmd/contactmerge
go build -o "$work/genorg" ./scripts/genorg
go build -o "$work/matchmutate" ./scripts/matchmutate

measure() {
  local label=$1; shift
  /usr/bin/time -f "%e %M %U %S" -o "$work/time" "$@" >"$work/out" 2>"$work/err" || { cat "$work/out" "$work/err"; exit 1; }
  local kib user sys
  read -r secs kib user sys <"$work/time"
  cpu=$(echo "$user + $sys" | bc)
  printf '%-12s %7.2f s wall %7.2f s CPU  peak RSS %6d MiB   %s\n' "$label" "$secs" "$cpu" \
    "$((kib / 1024))" "$(head -1 "$work/out")"
}
digest() { sqlite3 "$1" 'SELECT id, state, survivor_id, confidence, content_hash FROM groups ORDER BY id' | md5sum | cut -c1-12; }
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }

echo "contacts: $N   changed per run: $SHARE   $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
db=$work/inc.db
if [ ! -s "$db" ] || [ "$(cat "$work/inc.n" 2>/dev/null)" != "$N" ]; then
  rm -f "$work"/inc.db*
  measure generate "$work/genorg" -n "$N" -o "$work/org.jsonl"
  CONTACTMERGE_DB=$db measure import "$work/contactmerge" import "$work/org.jsonl"
  CONTACTMERGE_DB=$db measure "match(first)" "$work/contactmerge" match
  echo "$N" >"$work/inc.n"
fi
inc=() full=() inccpu=() fullcpu=()
for run in $(seq "$RUNS"); do
  measure mutate "$work/matchmutate" -db "$db" -share "$SHARE" -seed "$run$RANDOM"
  rm -f "$work"/full.db*
  sqlite3 "$db" "VACUUM INTO '$work/full.db'"
  # The copy's 1.7 GB are written back before anything is timed (else the
  # writeback competes with the incremental match for the disk and CPU).
  sync
  CONTACTMERGE_DB=$db measure incremental "$work/contactmerge" match
  sed -n 2p "$work/out"
  inc+=("$secs") inccpu+=("$cpu")
  CONTACTMERGE_DB=$work/full.db measure full "$work/contactmerge" match --full
  full+=("$secs") fullcpu+=("$cpu")
  a=$(digest "$db") b=$(digest "$work/full.db")
  if [ "$a" != "$b" ]; then
    echo "run $run: the groups differ (incremental $a, full $b)" >&2
    exit 1
  fi
  echo "run $run: same groups ($a, $(sqlite3 "$db" 'SELECT count(*) FROM groups') groups)"
done
mi=$(median "${inc[@]}") mf=$(median "${full[@]}")
ci=$(median "${inccpu[@]}") cf=$(median "${fullcpu[@]}")
printf 'median of %d: incremental %s s, full %s s: %.1f%% of a full match (CPU: %.2f s and %.2f s, %.1f%%)\n' "$RUNS" "$mi" "$mf" \
  "$(echo "100 * $mi / $mf" | bc -l)" "$ci" "$cf" "$(echo "100 * $ci / $cf" | bc -l)"
