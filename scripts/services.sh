#!/usr/bin/env bash
# Throwaway services for tests, all on loopback with random ports:
#   services.sh start DIR   PostgreSQL, SeaweedFS (S3), coturn, SMTP and Redis under DIR;
#                           writes DIR/services.env with their addresses
#   services.sh stop DIR    stops whatever DIR/ says is running
source "$(dirname "$0")/lib.sh"

cmd=${1:-}; DIR=${2:-}
[ -n "$cmd" ] && [ -n "$DIR" ] || die "usage: services.sh start|stop DIR"
BUCKET=attachments

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
token() { python3 -c 'import secrets,sys; print(sys.argv[1] + secrets.token_hex(16))' "$1"; }

start_postgres() {
  local bin port
  bin="$(pg_bin)"; [ -n "$bin" ] || die "PostgreSQL server binaries not found"
  port="$(free_port)"
  mkdir -p "$DIR/pg/data" "$DIR/pg/sock"
  [ "$(id -u)" = 0 ] && chown -R postgres "$DIR/pg"
  as_pg "$bin/initdb" -D "$DIR/pg/data" -A trust -U postgres --no-sync >"$DIR/pg/initdb.log" 2>&1 \
    || { cat "$DIR/pg/initdb.log" >&2; die "initdb failed"; }
  as_pg "$bin/pg_ctl" -D "$DIR/pg/data" -l "$DIR/pg/server.log" -w -t 30 \
    -o "-p $port -k $DIR/pg/sock -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null \
    || { cat "$DIR/pg/server.log" >&2; die "PostgreSQL did not start"; }
  echo "PARLEY_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$port/postgres" >>"$DIR/services.env"
  echo "PARLEY_TEST_PG_CTL=$bin/pg_ctl" >>"$DIR/services.env"
  echo "PARLEY_TEST_PG_DATA=$DIR/pg/data" >>"$DIR/services.env"
  log "PostgreSQL on 127.0.0.1:$port"
}

start_seaweedfs() {
  local s3 master volume filer admin access secret
  read -r s3 master volume filer admin < <(free_grpc_ports 5)
  [ -n "$admin" ] || die "no free ports for SeaweedFS"
  access="$(token pk)"; secret="$(token ps)"
  mkdir -p "$DIR/s3/data"
  cat >"$DIR/s3/config.json" <<JSON
{"identities":[{"name":"parley","credentials":[{"accessKey":"$access","secretKey":"$secret"}],
  "actions":["Admin","Read","Write","List","Tagging"]}]}
JSON
  setsid weed mini -dir="$DIR/s3/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
    -s3.port="$s3" -s3.config="$DIR/s3/config.json" -bucket="$BUCKET" \
    -master.port="$master" -volume.port="$volume" -filer.port="$filer" \
    -admin.port="$admin" -master.telemetry=false \
    -webdav=false -admin.ui=false -s3.port.iceberg=0 -s3.port.lance=0 \
    >"$DIR/s3/weed.log" 2>&1 </dev/null &
  echo $! >"$DIR/s3/weed.pid"
  wait_port 127.0.0.1 "$s3" 60 || { tail -n 30 "$DIR/s3/weed.log" >&2; die "SeaweedFS S3 did not start"; }
  {
    echo "PARLEY_TEST_S3_ENDPOINT=http://127.0.0.1:$s3"
    echo "PARLEY_TEST_S3_BUCKET=$BUCKET"
    echo "PARLEY_TEST_S3_ACCESS_KEY=$access"
    echo "PARLEY_TEST_S3_SECRET_KEY=$secret"
    echo "PARLEY_TEST_S3_PID=$(cat "$DIR/s3/weed.pid")"
  } >>"$DIR/services.env"
  log "SeaweedFS S3 on 127.0.0.1:$s3"
}

start_coturn() {
  local port secret base
  port="$(free_port)"; secret="$(token ts)"
  base=$((49152 + RANDOM % 12000))
  mkdir -p "$DIR/turn"
  # Loopback peers are allowed only here, for tests; production configs forbid them.
  setsid turnserver -n --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --listening-port="$port" \
    --use-auth-secret --static-auth-secret="$secret" --realm=parley.test \
    --no-tls --no-dtls --no-cli --allow-loopback-peers --fingerprint \
    --min-port="$base" --max-port=$((base + 200)) \
    --pidfile="$DIR/turn/turn.pid" --log-file="$DIR/turn/turn.log" --simple-log \
    >/dev/null 2>&1 </dev/null &
  echo $! >"$DIR/turn/launcher.pid"
  wait_port 127.0.0.1 "$port" 30 || { tail -n 30 "$DIR/turn/turn.log" >&2; die "coturn did not start"; }
  {
    echo "PARLEY_TEST_TURN_URL=turn:127.0.0.1:$port"
    echo "PARLEY_TEST_TURN_SECRET=$secret"
    echo "PARLEY_TEST_TURN_PIDFILE=$DIR/turn/turn.pid"
  } >>"$DIR/services.env"
  log "coturn on 127.0.0.1:$port"
}

start_smtp() {
  local port
  port="$(free_port)"
  mkdir -p "$DIR/smtp"  # aiosmtpd creates the Maildir itself (with tmp/new/cur)
  # A real SMTP server (aiosmtpd) that files every message into a Maildir.
  setsid python -m aiosmtpd -n -l "127.0.0.1:$port" -c aiosmtpd.handlers.Mailbox "$DIR/smtp/maildir" \
    >"$DIR/smtp/smtp.log" 2>&1 </dev/null &
  echo $! >"$DIR/smtp/smtp.pid"
  wait_port 127.0.0.1 "$port" 30 || { tail -n 30 "$DIR/smtp/smtp.log" >&2; die "SMTP server did not start"; }
  {
    echo "PARLEY_TEST_SMTP_URL=smtp://127.0.0.1:$port"
    echo "PARLEY_TEST_SMTP_MAILDIR=$DIR/smtp/maildir"
  } >>"$DIR/services.env"
  log "SMTP (aiosmtpd) on 127.0.0.1:$port"
}

start_redis() {
  local port
  if ! command -v redis-server >/dev/null; then
    log "installing redis-server (apt)"; apt_install redis-server
  fi
  # The package may start a system daemon on 6379; ours uses its own port.
  if command -v systemctl >/dev/null && systemctl is-active --quiet redis-server 2>/dev/null; then
    as_root systemctl stop redis-server || true
  fi
  port="$(free_port)"
  mkdir -p "$DIR/redis"
  # Wake-ups only: nothing to persist.
  setsid redis-server --bind 127.0.0.1 --port "$port" --dir "$DIR/redis" \
    --save "" --appendonly no --daemonize no --logfile "$DIR/redis/redis.log" \
    >/dev/null 2>&1 </dev/null &
  echo $! >"$DIR/redis/redis.pid"
  wait_port 127.0.0.1 "$port" 30 || { tail -n 30 "$DIR/redis/redis.log" >&2; die "Redis did not start"; }
  {
    echo "PARLEY_TEST_REDIS_URL=redis://127.0.0.1:$port"
    echo "PARLEY_TEST_REDIS_PID=$(cat "$DIR/redis/redis.pid")"
  } >>"$DIR/services.env"
  log "Redis on 127.0.0.1:$port"
}

kill_tree() {
  local pidfile=$1
  [ -f "$pidfile" ] || return 0
  local pid; pid="$(cat "$pidfile")"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

case "$cmd" in
  start)
    mkdir -p "$DIR"; chmod 755 "$DIR"; : >"$DIR/services.env"
    start_postgres; start_seaweedfs; start_coturn; start_smtp
    start_redis ;;
  stop)
    if [ -f "$DIR/pg/data/postmaster.pid" ]; then
      as_pg "$(pg_bin)/pg_ctl" -D "$DIR/pg/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    kill_tree "$DIR/s3/weed.pid"
    kill_tree "$DIR/turn/launcher.pid"
    kill_tree "$DIR/smtp/smtp.pid"
    kill_tree "$DIR/redis/redis.pid"
    if [ -f "$DIR/turn/turn.pid" ]; then kill "$(cat "$DIR/turn/turn.pid")" 2>/dev/null || true; fi
    ;;
  *) die "usage: services.sh start|stop DIR" ;;
esac
