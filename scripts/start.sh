#!/usr/bin/env bash
# Builds and starts the compose deployment in order, then runs the smoke test:
#   kafka + postgres (wait until healthy) -> topics -> stream-processor -> event-generator
#   -> metrics-api (-> prometheus + grafana with --monitoring) -> rtsa smoke
# Usage: scripts/start.sh [--monitoring] [--no-smoke]
# Env: KAFKA_PARTITIONS (default 6) partitions of a new topic; EVENTS_PER_SEC (default 20).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "start: $*"; }
die() {
  echo "start: ERROR: $*" >&2
  exit 1
}

monitoring=0
smoke=1
for arg in "$@"; do
  case "$arg" in
    --monitoring) monitoring=1 ;;
    --no-smoke) smoke=0 ;;
    -h | --help)
      sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown argument \"$arg\" (usage: scripts/start.sh [--monitoring] [--no-smoke])" ;;
  esac
done

TOPIC=stream.events
DLQ_TOPIC=stream.events.dlq
export KAFKA_PARTITIONS="${KAFKA_PARTITIONS:-6}"
[[ "$KAFKA_PARTITIONS" =~ ^[1-9][0-9]*$ ]] || die "KAFKA_PARTITIONS=\"$KAFKA_PARTITIONS\" is not a positive integer"

command -v docker >/dev/null 2>&1 || die "docker is not installed (or not on the PATH)"
docker compose version >/dev/null 2>&1 || die "the docker compose plugin (compose v2) is missing"

compose() { docker compose -p rtsa --profile monitoring "$@"; }

# No default passwords: the first start writes .env (mode 0600) with random ones; compose
# reads it. Values already in the environment or in .env are kept.
if [ ! -f .env ]; then
  umask 077
  {
    echo "# Written by scripts/start.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ); see .env.example"
    echo "COMPOSE_PROJECT_NAME=rtsa"
    for name in POSTGRES_PASSWORD RTSA_WRITER_PASSWORD RTSA_READER_PASSWORD GRAFANA_ADMIN_PASSWORD; do
      echo "$name=${!name:-$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')}"
    done
  } > .env
  umask 022
  say "wrote .env with random passwords (Grafana: admin / GRAFANA_ADMIN_PASSWORD in .env)"
fi

# Waits until a service's container reports healthy; fails early when it exits or turns unhealthy.
wait_healthy() {
  local service=$1 timeout=$2 waited=0 id status
  say "waiting for $service to be healthy (up to ${timeout}s)"
  while true; do
    id=$(compose ps -q "$service" 2>/dev/null || true)
    status=""
    if [ -n "$id" ]; then
      status=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id" 2>/dev/null || true)
    fi
    case "$status" in
      healthy)
        say "$service is healthy"
        return 0
        ;;
      unhealthy | exited | dead)
        compose logs --tail 40 "$service" >&2 || true
        die "$service is $status (logs above; more: docker compose logs $service)"
        ;;
    esac
    if [ "$waited" -ge "$timeout" ]; then
      compose logs --tail 40 "$service" >&2 || true
      die "$service not healthy after ${timeout}s (status: ${status:-no container}); logs above"
    fi
    sleep 2
    waited=$((waited + 2))
  done
}

create_topic() {
  local topic=$1
  docker compose exec -T kafka /opt/kafka/bin/kafka-topics.sh --bootstrap-server localhost:9092 \
    --create --if-not-exists --topic "$topic" --partitions "$KAFKA_PARTITIONS" --replication-factor 1 >/dev/null
  local have
  have=$(docker compose exec -T kafka /opt/kafka/bin/kafka-topics.sh --bootstrap-server localhost:9092 \
    --describe --topic "$topic" | grep -c 'Partition: ' || true)
  if [ "$have" != "$KAFKA_PARTITIONS" ]; then
    say "note: topic $topic has $have partitions (an existing topic keeps its own; scripts/reset.sh starts over)"
  else
    say "topic $topic: $have partitions"
  fi
}

say "building the rtsa image"
docker compose build stream-processor

say "starting kafka and postgres"
docker compose up -d kafka postgres
wait_healthy kafka 180
wait_healthy postgres 120

say "creating topics (KAFKA_PARTITIONS=$KAFKA_PARTITIONS)"
create_topic "$TOPIC"
create_topic "$DLQ_TOPIC"

say "starting stream-processor"
docker compose up -d stream-processor
wait_healthy stream-processor 180

say "starting event-generator"
docker compose up -d event-generator
wait_healthy event-generator 120

say "starting metrics-api"
docker compose up -d metrics-api
wait_healthy metrics-api 120

if [ "$monitoring" = 1 ]; then
  say "starting prometheus and grafana"
  compose up -d prometheus grafana
  wait_healthy prometheus 120
  wait_healthy grafana 120
fi

if [ "$smoke" = 1 ]; then
  say "running the smoke test (rtsa smoke in the metrics-api container; rows may take up to 150 s)"
  docker compose exec -T metrics-api node bin/rtsa.js smoke || die "smoke test failed (see above; RUNBOOK.md, troubleshooting)"
fi

say "running:"
say "  dashboard   http://localhost:8000/   (API docs http://localhost:8000/docs)"
say "  kafka       localhost:9092 (in the network kafka:29092), postgres localhost:5432 (rt/rt, db realtime)"
if [ "$monitoring" = 1 ]; then
  say "  prometheus  http://localhost:9090   grafana http://localhost:3000 (admin / GRAFANA_ADMIN_PASSWORD in .env)"
fi
say "stop: scripts/stop.sh (keeps data), scripts/stop.sh no (deletes it), full reset: scripts/reset.sh"
