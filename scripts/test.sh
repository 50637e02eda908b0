#!/usr/bin/env bash
# scripts/test.sh — the project's test command (README "Set-up", .ci/run).
#
# Makes sure every service the tests need is up, then runs gofmt, go vet,
# golangci-lint (.golangci.yml) and every test, the packages with concurrency
# (engine, store, genesys) under the race detector. Arguments are passed to
# go test (e.g. scripts/test.sh -run TestDemo). PostgreSQL: uses $TEST_DATABASE_URL when it answers, else the
# local server on 127.0.0.1:5432 when it answers, else starts a throwaway
# server from the machine's PostgreSQL binaries (initdb into a temp dir, a free
# port), installing Debian's postgresql package first when no binaries exist.
# The throwaway server is stopped and removed on exit. Chromium (the console's
# browser tests): installs Debian's chromium package when there is none.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '== %s\n' "$*" >&2; }

pg_answers() { # $1 = URL
  command -v psql >/dev/null 2>&1 || return 1
  PGCONNECT_TIMEOUT=3 psql "$1" -Atqc 'select 1' >/dev/null 2>&1
}

apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing $*"
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    return 1
  fi
}

PG_TMP=""
cleanup() {
  if [ -n "$PG_TMP" ]; then
    run_pg "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_TMP"
  fi
}
trap cleanup EXIT

run_pg() { # run a PostgreSQL binary as an unprivileged user when we are root
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_throwaway_pg() {
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
    apt_install postgresql postgresql-client || { log "no PostgreSQL binaries and cannot install them (need root and apt-get)"; return 1; }
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  fi
  PG_TMP=$(mktemp -d /tmp/contactmerge-pg.XXXXXX)
  chmod 755 "$PG_TMP"
  [ "$(id -u)" = 0 ] && chown postgres "$PG_TMP"
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 55432)
  log "starting a throwaway PostgreSQL ($PG_BIN) on 127.0.0.1:$port"
  run_pg "$PG_BIN/initdb" -D "$PG_TMP/data" -U postgres -A trust --no-sync >/dev/null
  run_pg "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/log" -w \
    -o "-p $port -k $PG_TMP -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
  TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
  export TEST_DATABASE_URL
}

command -v psql >/dev/null 2>&1 || apt_install postgresql-client || true
# The browser tests (web/) drive Debian's headless Chromium with chromedp. Without
# one they skip, except under CI, where they fail.
command -v chromium >/dev/null 2>&1 || apt_install chromium || log "no chromium and cannot install it: the browser tests skip (outside CI)"
if [ -n "${TEST_DATABASE_URL:-}" ] && pg_answers "$TEST_DATABASE_URL"; then
  log "PostgreSQL: using TEST_DATABASE_URL"
elif pg_answers "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"; then
  export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
  log "PostgreSQL: using the local server on 127.0.0.1:5432"
else
  start_throwaway_pg
fi

# Each step says what it does and how long it took, and go test reports
# every test as it finishes (gotestsum), so the run is never silent for long.
step() { # step NAME CMD...: run CMD, then log its duration
  local name=$1 t0=$SECONDS; shift
  log "$name"
  "$@"
  log "$name: ok in $((SECONDS - t0)) s"
}
tool() { go tool -modfile=tools/go.mod "$@"; }

check_gofmt() {
  local unformatted
  unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
  if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted" >&2; return 1; fi
}

# The packages with concurrency run under the race detector; the rest
# without it (the race detector makes the pure-Go SQLite driver slow).
RACE_PKGS="./engine/... ./store/... ./genesys/... ./internal/..."

step "gofmt" check_gofmt
step "go vet" go vet ./...
step "building the lint and test tools (cached after the first run)" go build -modfile=tools/go.mod -o /dev/null \
  github.com/golangci/golangci-lint/v2/cmd/golangci-lint gotest.tools/gotestsum
step "golangci-lint (.golangci.yml)" tool golangci-lint run ./...

# Every fuzz target for a few seconds (their seeds also run as plain tests below);
# `make fuzz FUZZTIME=10m` runs them longer.
short_fuzz() {
  local pkg f n=0 FUZZ_LOG
  FUZZ_LOG=$(mktemp)
  for pkg in $(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do
    for f in $(grep -h '^func Fuzz' "$pkg"/*_test.go | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do
      log "fuzz $pkg $f (${FUZZTIME:-5s})"
      if ! go test -run '^$' -fuzz "^$f\$" -fuzztime "${FUZZTIME:-5s}" "$pkg" >"$FUZZ_LOG" 2>&1; then
        cat "$FUZZ_LOG" >&2; return 1
      fi
      n=$((n + 1))
    done
  done
  rm -f "$FUZZ_LOG"
  log "$n fuzz targets ran without a crash"
}
step "short fuzz" short_fuzz
others=$(go list ./... | grep -v -e '/engine' -e '/store' -e '/genesys' -e '/internal/')
step "go test -race ($RACE_PKGS)" tool gotestsum --format testname --hide-summary=skipped -- \
  -race -count=1 -timeout 30m "$@" $RACE_PKGS
# The last step logs before it runs, so that gotestsum's closing "DONE N
# tests" line is the last line of the run (CI reads the closing lines).
log "go test (every other package)"
tool gotestsum --format testname --hide-summary=skipped -- -count=1 -timeout 30m "$@" $others
