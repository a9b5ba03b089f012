#!/usr/bin/env bash
# Set-up shared by every Makefile target: a virtualenv with suqiu and its dev tools, and a
# RabbitMQ answering on AMQP_URL (Debian's rabbitmq-server is installed and started when it
# is absent and we are root on Debian). MongoDB needs nothing here: the stack and the tests
# start nx-27017 themselves unless MONGO_URL points at a server.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
AMQP_URL=${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/}

log() { printf '[bootstrap] %s\n' "$*" >&2; }

# --- Python environment -------------------------------------------------------------------
if [ ! -x .venv/bin/python ]; then
  log "creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.suqiu-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  log "installing suqiu and its dev dependencies into .venv"
  if ! { .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip &&
         .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]"; } \
       >.venv/pip-install.log 2>&1; then
    cat .venv/pip-install.log >&2
    log "pip install failed (log above, also in .venv/pip-install.log)"
    exit 1
  fi
  touch "$stamp"
fi

# --- promtool (only for `make test`, which sets SUQIU_NEED_PROMTOOL=1) ----------------------
# tests/ops check and unit-test the Prometheus alert rules with Debian's promtool.
if [ "${SUQIU_NEED_PROMTOOL:-}" = 1 ] && ! command -v promtool >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then
    log "installing Debian's prometheus package (for promtool)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq prometheus >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get install -y -qq prometheus >/dev/null; }
  else
    log "promtool is missing and this is not root on Debian: the alert-rule tests will be skipped"
  fi
fi

# --- RabbitMQ's Java client (only for `make test`, where a JDK exists) -----------------------
# tests/ops/test_publishing_examples.py runs docs/publishing.md's Java example when it can.
if [ "${SUQIU_NEED_PROMTOOL:-}" = 1 ] && command -v javac >/dev/null 2>&1 &&
   [ ! -f /usr/share/java/amqp-client.jar ] && [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then
  log "installing Debian's librabbitmq-client-java (for the Java publishing example)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq librabbitmq-client-java >/dev/null 2>&1 ||
    log "librabbitmq-client-java not installed: the Java publishing example will be skipped"
fi

# --- Chromium (only for `make test`, which sets SUQIU_NEED_BROWSER=1) -----------------------
# tests/browser drive the console in Debian's headless chromium through its chromedriver; a CJK
# font makes the screenshots readable.
if [ "${SUQIU_NEED_BROWSER:-}" = 1 ] && ! { command -v chromium >/dev/null 2>&1 &&
                                           command -v chromedriver >/dev/null 2>&1; }; then
  if [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then
    log "installing Debian's chromium, chromium-driver and a CJK font (browser tests)"
    export DEBIAN_FRONTEND=noninteractive
    pkgs="chromium chromium-driver fonts-wqy-microhei"
    # shellcheck disable=SC2086
    apt-get install -y -qq $pkgs >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get install -y -qq $pkgs >/dev/null; }
  else
    log "chromium/chromedriver are missing and this is not root on Debian: the browser tests will be skipped"
  fi
fi

# --- RabbitMQ -----------------------------------------------------------------------------
read -r AMQP_HOST AMQP_PORT < <(.venv/bin/python - "$AMQP_URL" <<'PY'
import sys
from urllib.parse import urlparse
u = urlparse(sys.argv[1])
print(u.hostname or "127.0.0.1", u.port or 5672)
PY
)
amqp_up() { .venv/bin/python -c "import socket,sys; socket.create_connection(('$AMQP_HOST', $AMQP_PORT), 2)" 2>/dev/null; }

if amqp_up; then
  log "RabbitMQ answers on $AMQP_HOST:$AMQP_PORT"
  exit 0
fi
case "$AMQP_HOST" in
  127.0.0.1|localhost|::1) ;;
  *) log "RabbitMQ at $AMQP_HOST:$AMQP_PORT does not answer; start it or fix AMQP_URL"; exit 1 ;;
esac
if [ "$(id -u)" != 0 ] || [ ! -f /etc/debian_version ]; then
  log "RabbitMQ is not running on $AMQP_HOST:$AMQP_PORT and this is not root on Debian:"
  log "install and start rabbitmq-server yourself, or set AMQP_URL"
  exit 1
fi
if ! command -v rabbitmq-server >/dev/null 2>&1; then
  log "installing Debian's rabbitmq-server"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq rabbitmq-server >/dev/null
fi
log "starting rabbitmq-server"
rabbitmq-server -detached || true
for _ in $(seq 1 120); do
  if rabbitmq-diagnostics -q ping >/dev/null 2>&1; then break; fi
  sleep 1
done
rabbitmqctl await_startup >/dev/null
for _ in $(seq 1 30); do amqp_up && break; sleep 1; done
amqp_up || { log "RabbitMQ did not come up"; exit 1; }
log "RabbitMQ started"
