#!/usr/bin/env bash
# Serves nnplay from several Streamlit processes behind nginx, with sticky sessions.
#
#   bash scripts/serve.sh [N] [PORT]
#
# N app processes (default: one per core) on consecutive loopback ports, nginx on PORT (default
# 8080) in front of them; Ctrl-C (or the end of any one of them) stops them all.
# One Streamlit process uses about one core however many people it serves, hence one per core.
#
# Settings, from the environment:
#   NNPLAY_SERVE_ADDRESS       address nginx listens on (default 0.0.0.0: every interface)
#   NNPLAY_SERVE_BACKEND_PORT  port of the first app process; the others follow (default 8501)
#   NNPLAY_SERVE_RUN_DIR       where the rendered nginx.conf, pid, logs and temp files go (default: a
#                              fresh temporary folder, removed on exit; a folder given here is kept)
#   PYTHON                     the interpreter that has the app's requirements (default: python)
#   NNPLAY_* limits (nnplay/limits.py) reach every process. They are per process: with N processes
#   and the default NNPLAY_CONCURRENT_TRAINERS=1, N sessions train at once.
set -euo pipefail
cd "$(dirname "$0")/.."

N="${1:-$(nproc)}"
PORT="${2:-8080}"
ADDRESS="${NNPLAY_SERVE_ADDRESS:-0.0.0.0}"
FIRST="${NNPLAY_SERVE_BACKEND_PORT:-8501}"
PYTHON="${PYTHON:-python}"
TEMPLATE=deploy/nginx/nnplay.conf.template

for value in "$N" "$PORT" "$FIRST"; do
  if ! [[ "$value" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: bash scripts/serve.sh [N] [PORT]  (N processes, nginx on PORT; got '$value')" >&2
    exit 2
  fi
done

NGINX="$(command -v nginx || true)"
[ -n "$NGINX" ] || [ ! -x /usr/sbin/nginx ] || NGINX=/usr/sbin/nginx  # sbin is not on every PATH
if [ -z "$NGINX" ]; then
  SUDO="sudo "
  [ "$(id -u)" -ne 0 ] || SUDO=""
  echo "serve.sh: nginx is not installed. Install Debian's package first:" >&2
  echo "  ${SUDO}apt-get install -y nginx" >&2
  exit 1
fi

# The path goes into nginx.conf unquoted and through sed.
check_run_dir() {
  if [[ "$1" =~ [[:space:]\;\{\}\|\&\'\"\$\#\\] ]]; then
    echo "serve.sh: the run directory '$1' holds a space or one of ; { } | & ' \" \$ # \\" >&2
    exit 2
  fi
}
if [ -n "${NNPLAY_SERVE_RUN_DIR:-}" ]; then
  check_run_dir "$NNPLAY_SERVE_RUN_DIR"
  RUN_DIR="$(mkdir -p "$NNPLAY_SERVE_RUN_DIR" && cd "$NNPLAY_SERVE_RUN_DIR" && pwd)"
  KEEP_RUN_DIR=1
else
  RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/nnplay-serve.XXXXXX")"
  KEEP_RUN_DIR=0
fi
check_run_dir "$RUN_DIR"
mkdir -p "$RUN_DIR/tmp"

PIDS=()
# shellcheck disable=SC2329  # called by the EXIT trap
cleanup() {
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "$KEEP_RUN_DIR" = 0 ]; then
    rm -rf "$RUN_DIR"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Another server already on one of the ports would answer the health checks in our processes' place.
ports_free() {  # ADDRESS PORT...
  "$PYTHON" - "$@" <<'PY'
import socket, sys
address, ports = sys.argv[1], sys.argv[2:]
family = socket.AF_INET6 if ":" in address else socket.AF_INET
for port in ports:
    with socket.socket(family) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as nginx and Streamlit do
        try:
            s.bind((address, int(port)))
        except OSError as exc:
            sys.exit(f"serve.sh: cannot use {address} port {port}: {exc.strerror}")
PY
}

# Answers 0 once the URL answers "ok" (the interpreter is there anyway: curl may not be).
healthy() {
  "$PYTHON" - "$1" <<'PY' 2>/dev/null
import sys, urllib.request
sys.exit(urllib.request.urlopen(sys.argv[1], timeout=2).read() != b"ok")
PY
}

wait_healthy() {  # URL PID WHAT LOG
  local deadline=$((SECONDS + 120))
  until healthy "$1"; do
    if ! kill -0 "$2" 2>/dev/null; then
      echo "serve.sh: $3 exited during start-up; its log, $4:" >&2
      tail -n 20 "$4" >&2 || true
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "serve.sh: $3 did not answer $1 within 120 s; see $4" >&2
      exit 1
    fi
    sleep 0.5
  done
}

ports_free 127.0.0.1 $(seq "$FIRST" $((FIRST + N - 1)))
ports_free "$ADDRESS" "$PORT"

if [[ "$ADDRESS" == *:* ]]; then  # IPv6
  LISTEN="[$ADDRESS]:$PORT"
  HOST="[$ADDRESS]"
  [ "$ADDRESS" != "::" ] || HOST="[::1]"
else
  LISTEN="$ADDRESS:$PORT"
  HOST="$ADDRESS"
  [ "$ADDRESS" != 0.0.0.0 ] || HOST=127.0.0.1
fi

BACKENDS=""
for ((i = 0; i < N; i++)); do
  port=$((FIRST + i))
  # The environment, NNPLAY_* limits included, passes to each process as it is.
  "$PYTHON" -m streamlit run app.py \
    --server.headless true \
    --server.address 127.0.0.1 \
    --server.port "$port" \
    >"$RUN_DIR/app-$port.log" 2>&1 &
  PIDS+=("$!")
  BACKENDS+="        server 127.0.0.1:$port max_fails=0;"$'\n'
done

printf '%s' "$BACKENDS" >"$RUN_DIR/backends.conf"
sed -e "s|@RUN_DIR@|$RUN_DIR|g" \
  -e "s|@LISTEN@|$LISTEN|g" \
  -e "/@BACKENDS@/r $RUN_DIR/backends.conf" \
  -e "/@BACKENDS@/d" \
  "$TEMPLATE" >"$RUN_DIR/nginx.conf"
rm "$RUN_DIR/backends.conf"
# Checking first gives a clear message for a bad listen address, before anything waits on it.
"$NGINX" -t -q -p "$RUN_DIR" -e "$RUN_DIR/error.log" -c "$RUN_DIR/nginx.conf"

for ((i = 0; i < N; i++)); do
  port=$((FIRST + i))
  wait_healthy "http://127.0.0.1:$port/_stcore/health" "${PIDS[$i]}" "app process on port $port" \
    "$RUN_DIR/app-$port.log"
done

"$NGINX" -p "$RUN_DIR" -e "$RUN_DIR/error.log" -c "$RUN_DIR/nginx.conf" &
PIDS+=("$!")
wait_healthy "http://$HOST:$PORT/_stcore/health" "${PIDS[$N]}" nginx "$RUN_DIR/error.log"

echo "nnplay: $N app processes behind nginx at http://$HOST:$PORT/"
[ "$ADDRESS" != 0.0.0.0 ] && [ "$ADDRESS" != "::" ] ||
  echo "nnplay: listening on every interface: other computers use this machine's name or address"
if [ "$KEEP_RUN_DIR" = 1 ]; then
  echo "nnplay: config and logs in $RUN_DIR"
else
  echo "nnplay: config and logs in $RUN_DIR (removed on exit; set NNPLAY_SERVE_RUN_DIR to keep them)"
fi
echo "nnplay: press Ctrl-C to stop"

# Nothing restarts a process that died: say which one, and stop the rest.
set +e
wait -n -p stopped "${PIDS[@]}"
status=$?
set -e
what=nginx
for ((i = 0; i < N; i++)); do
  [ "${PIDS[$i]}" != "$stopped" ] || what="the app process on port $((FIRST + i))"
done
echo "serve.sh: $what stopped (exit $status); stopping the others. Logs: $RUN_DIR" >&2
KEEP_RUN_DIR=1  # for a look at what happened
exit 1
