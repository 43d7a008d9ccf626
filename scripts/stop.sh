#!/usr/bin/env bash
# Stops the compose deployment in order: the generator first (no new events), then the
# processor (it finishes and commits its batch), the API, monitoring, Kafka, PostgreSQL.
# Usage: scripts/stop.sh        keep data: PostgreSQL (metrics, state, checkpoints) and Kafka volumes
#        scripts/stop.sh no     also DELETE the data volumes (a full reset)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "stop: $*"; }
die() {
  echo "stop: ERROR: $*" >&2
  exit 1
}

keep=yes
case "${1:-}" in
  "" | yes) keep=yes ;;
  no) keep=no ;;
  -h | --help)
    sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *) die "unknown argument \"$1\" (usage: scripts/stop.sh [no])" ;;
esac
[ $# -le 1 ] || die "too many arguments (usage: scripts/stop.sh [no])"

command -v docker >/dev/null 2>&1 || die "docker is not installed (or not on the PATH)"
compose() { docker compose -p rtsa --profile monitoring "$@"; }

for service in event-generator stream-processor metrics-api grafana prometheus kafka postgres; do
  say "stopping $service"
  compose stop "$service" >/dev/null
done

if [ "$keep" = no ]; then
  say "removing containers and DELETING volumes (Kafka topics, PostgreSQL data, Prometheus, Grafana)"
  compose down -v --remove-orphans
  say "done: everything deleted; scripts/start.sh starts from scratch"
else
  compose down --remove-orphans
  say "done: data kept (volumes $(compose config --volumes | paste -sd ' ' -)); scripts/start.sh resumes"
fi
