#!/usr/bin/env bash
# Throw-away PostgreSQL and Redis servers for keyward's integration tests.
#
#   .ci/servers.sh start   install the Debian packages if their binaries are missing (root only),
#                          start both servers on free 127.0.0.1 ports as an unprivileged user in a
#                          temporary directory, wait until they accept connections, write the env file
#   .ci/servers.sh env     print the export lines (KEYWARD_PG_URL, KEYWARD_REDIS_URL)
#   .ci/servers.sh stop    stop both servers and remove the temporary directory
#   .ci/servers.sh status  say whether they are running
#
# Typical use (this is what .ci/run does):
#   bash .ci/servers.sh start && trap 'bash .ci/servers.sh stop' EXIT && eval "$(bash .ci/servers.sh env)"
#
# Nothing is persisted: PostgreSQL runs with fsync off, Redis with no RDB/AOF; both listen on
# loopback only, with trust authentication, which is fine for a test server nobody else can reach.
# The servers of one checkout are found through a state directory named after the checkout's path
# and the user, so several checkouts (and users) can each have their own pair at once.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TAG=$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)
# Where the servers of this checkout live. Override to run several pairs from one checkout.
STATE=${KEYWARD_SERVERS_DIR:-"${TMPDIR:-/tmp}/keyward-servers-$(id -u)-$TAG"}

log() { printf 'servers.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

pg_bindir() {
  local d
  if [ -n "${KEYWARD_PG_BINDIR:-}" ]; then printf '%s\n' "$KEYWARD_PG_BINDIR"; return; fi
  # Debian keeps the server binaries out of PATH, one directory per major version: take the newest.
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4,4n -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then printf '%s\n' "$d"; return; fi
  done
  if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then dirname "$(command -v pg_ctl)"; return; fi
  return 1
}

install_missing() {
  local want=()
  pg_bindir >/dev/null || want+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || want+=(redis-server)
  command -v redis-cli >/dev/null 2>&1 || want+=(redis-tools)
  if [ ${#want[@]} -eq 0 ]; then return 0; fi
  [ "$(id -u)" -eq 0 ] || die "missing ${want[*]} and not root: install them (apt-get install ${want[*]}) or run as root"
  log "installing ${want[*]} from the Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  # The packages' own services (port 5432, 6379) are not used; keep them from starting.
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=1; fi
  { apt-get install -y -q --no-install-recommends "${want[@]}" || { apt-get update -q && apt-get install -y -q --no-install-recommends "${want[@]}"; }; } >&2
  if [ "$made_policy" -eq 1 ]; then rm -f "$policy"; fi
  pg_bindir >/dev/null || die "PostgreSQL binaries still missing after install"
}

# The user the servers run as: PostgreSQL refuses to run as root.
service_user() {
  if [ "$(id -u)" -ne 0 ]; then id -un; return; fi
  if id postgres >/dev/null 2>&1; then echo postgres; else echo nobody; fi
}

# Runs a command as the service user (a no-op change when not root).
as_user() {
  local user=$1; shift
  if [ "$(id -u)" -ne 0 ]; then "$@"; return; fi
  if command -v runuser >/dev/null 2>&1; then runuser -u "$user" -- "$@"
  else setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups -- "$@"; fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  local p i
  for i in $(seq 1 50); do
    p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 30000 ))
    if ! port_in_use "$p"; then echo "$p"; return; fi
  done
  die "no free port found"
}

running() {
  [ -f "$STATE/env" ] && [ -f "$STATE/ports" ] || return 1
  local pgp rp
  pgp=$(sed -n 's/^PG_PORT=//p' "$STATE/ports")
  rp=$(sed -n 's/^REDIS_PORT=//p' "$STATE/ports")
  port_in_use "$pgp" && port_in_use "$rp"
}

start_pg() {
  local user=$1 bin=$2 port
  as_user "$user" "$bin/initdb" -D "$STATE/pg" -U keyward -A trust -E UTF8 --no-locale >"$STATE/initdb.log" 2>&1 \
    || { cat "$STATE/initdb.log" >&2; die "initdb failed"; }
  for _ in 1 2 3 4 5; do
    port=$(free_port)
    # fsync off etc.: a test server that is thrown away; unix socket in our own directory
    # (the default /var/run/postgresql is root's).
    if as_user "$user" "$bin/pg_ctl" -D "$STATE/pg" -l "$STATE/pg.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $STATE -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >/dev/null 2>&1; then
      echo "$port"; return
    fi
    log "postgres did not start on port $port, retrying"
  done
  tail -n 20 "$STATE/pg.log" >&2 || true
  die "postgres did not start"
}

start_redis() {
  local user=$1 port
  mkdir -p "$STATE/redis"
  [ "$(id -u)" -eq 0 ] && chown "$user" "$STATE/redis"
  for _ in 1 2 3 4 5; do
    port=$(free_port)
    rm -f "$STATE/redis.pid"
    as_user "$user" redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
      --daemonize yes --pidfile "$STATE/redis.pid" --logfile "$STATE/redis.log" --dir "$STATE/redis" >/dev/null 2>&1 || true
    for _ in $(seq 1 100); do
      if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; then echo "$port"; return; fi
      sleep 0.05
    done
    log "redis did not start on port $port, retrying"
    [ -f "$STATE/redis.pid" ] && kill "$(cat "$STATE/redis.pid")" 2>/dev/null || true
  done
  tail -n 20 "$STATE/redis.log" >&2 || true
  die "redis did not start"
}

cmd_start() {
  if running; then log "already running ($STATE)"; return 0; fi
  [ -d "$STATE" ] && cmd_stop >/dev/null 2>&1 || true
  install_missing
  local user bin pgport rport
  user=$(service_user)
  bin=$(pg_bindir)
  mkdir -p "$STATE"
  chmod 700 "$STATE"
  [ "$(id -u)" -eq 0 ] && chown "$user" "$STATE"
  echo "$user" >"$STATE/user"
  pgport=$(start_pg "$user" "$bin")
  printf 'PG_PORT=%s\n' "$pgport" >"$STATE/ports"
  rport=$(start_redis "$user")
  printf 'REDIS_PORT=%s\n' "$rport" >>"$STATE/ports"
  as_user "$user" "$bin/pg_isready" -h 127.0.0.1 -p "$pgport" -t 30 >/dev/null || die "postgres is not accepting connections"
  {
    printf 'export KEYWARD_PG_URL=postgres://keyward@127.0.0.1:%s/postgres\n' "$pgport"
    printf 'export KEYWARD_REDIS_URL=redis://127.0.0.1:%s/0\n' "$rport"
  } >"$STATE/env"
  log "PostgreSQL on 127.0.0.1:$pgport and Redis on 127.0.0.1:$rport (as $user, in $STATE)"
}

cmd_stop() {
  [ -d "$STATE" ] || { log "not running"; return 0; }
  local user bin
  user=$(cat "$STATE/user" 2>/dev/null || service_user)
  if [ -f "$STATE/pg/postmaster.pid" ] && bin=$(pg_bindir); then
    as_user "$user" "$bin/pg_ctl" -D "$STATE/pg" -m fast -w -t 30 stop >/dev/null 2>&1 \
      || kill "$(head -n1 "$STATE/pg/postmaster.pid")" 2>/dev/null || true
  fi
  if [ -f "$STATE/redis.pid" ]; then
    local pid
    pid=$(cat "$STATE/redis.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  fi
  rm -rf "$STATE"
  log "stopped"
}

cmd_env() {
  [ -f "$STATE/env" ] || die "not started: run .ci/servers.sh start"
  cat "$STATE/env"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  env) cmd_env ;;
  status) if running; then echo running; cat "$STATE/env"; else echo stopped; exit 1; fi ;;
  *) echo "usage: $0 start|stop|env|status" >&2; exit 2 ;;
esac
