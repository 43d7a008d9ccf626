#!/usr/bin/env bash
# Installs the Spark baseline of `npm run bench -- spark` into DIR (default .rtsa/spark):
#   DIR/venv   a private virtualenv with pyspark and psycopg (from PyPI, pinned)
#   DIR/jars   the Kafka source of Structured Streaming and its own dependencies (from
#              Maven Central through `mvn`, pinned by bench/spark/pom.xml)
# Idempotent: does nothing when DIR/installed already names these exact versions, so the
# benchmark can call it every time. Needs python3 (>= 3.10, with venv), java 17+ and mvn.
set -euo pipefail

# One place for the versions. The connector must be the same Spark release as pyspark and
# built for its Scala version (pyspark 4.x ships Scala 2.13).
PYSPARK_VERSION=4.1.1
SCALA_BINARY=2.13
PSYCOPG_VERSION=3.3.9
STAMP="pyspark=${PYSPARK_VERSION} scala=${SCALA_BINARY} psycopg=${PSYCOPG_VERSION}"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="${1:-.rtsa/spark}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
python="${PYTHON:-python3}"

if [[ -f "$dir/installed" && "$(cat "$dir/installed")" == "$STAMP" && -x "$dir/venv/bin/python" ]] &&
  compgen -G "$dir/jars/spark-sql-kafka-0-10_${SCALA_BINARY}-${PYSPARK_VERSION}.jar" >/dev/null; then
  echo "spark baseline already installed in $dir ($STAMP)"
  exit 0
fi
rm -f "$dir/installed"

for tool in java mvn "$python"; do
  command -v "$tool" >/dev/null || { echo "install.sh: $tool not found on PATH" >&2; exit 1; }
done

echo "spark baseline: virtualenv with pyspark ${PYSPARK_VERSION}, psycopg ${PSYCOPG_VERSION} in $dir/venv"
[[ -x "$dir/venv/bin/python" ]] || "$python" -m venv "$dir/venv"
# pip itself skips what is already there at the pinned version, so a re-run after a failed
# jar download costs nothing here.
"$dir/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  "pyspark==${PYSPARK_VERSION}" "psycopg[binary]==${PSYCOPG_VERSION}"
"$dir/venv/bin/python" -c "import pyspark, psycopg; assert pyspark.__version__ == '${PYSPARK_VERSION}', pyspark.__version__"

echo "spark baseline: Kafka connector jars for Spark ${PYSPARK_VERSION} / Scala ${SCALA_BINARY} in $dir/jars"
rm -rf "$dir/jars"
mvn -B -q -f "$here/pom.xml" \
  "-Dspark.version=${PYSPARK_VERSION}" "-Dscala.binary.version=${SCALA_BINARY}" \
  org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
  "-DoutputDirectory=$dir/jars" -DincludeScope=runtime
ls "$dir/jars"

echo "$STAMP" >"$dir/installed"
echo "spark baseline installed in $dir ($STAMP)"
