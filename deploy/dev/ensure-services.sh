#!/usr/bin/env bash
# Start PostgreSQL, Redis and RabbitMQ on this machine if they are down, then wait for them.
# Exits non-zero, loudly, when one of them cannot be reached.
set -uo pipefail

reachable() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
  local name=$1 port=$2 seconds=$3
  for _ in $(seq "$seconds"); do
    reachable "$port" && return 0
    sleep 1
  done
  echo "ERROR: $name is not reachable on 127.0.0.1:$port" >&2
  return 1
}

if ! reachable 5432; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
fi
if ! reachable 6379; then
  echo "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi
if ! reachable 5672; then
  echo "starting RabbitMQ"
  rabbitmq-server -detached || true
fi

status=0
wait_for PostgreSQL 5432 60 || status=1
wait_for Redis 6379 30 || status=1
wait_for RabbitMQ 5672 120 || status=1
if [ "$status" -eq 0 ] && command -v rabbitmqctl >/dev/null; then
  # the port opens before the node accepts vhost commands
  rabbitmqctl -q await_startup --timeout 120 >/dev/null 2>&1 || { echo "ERROR: RabbitMQ did not finish starting" >&2; status=1; }
fi
exit $status
