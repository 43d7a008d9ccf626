"""The Spark baseline of `npm run bench -- spark`: a Structured Streaming job written from
the reference system's description (../shared/reference/original-contract.md), not from its
code. Kafka source on KAFKA_TOPIC (JSON values), one-minute tumbling windows per stream_id
in event time, a 10-minute watermark, update output mode, and a foreachBatch sink that
upserts each batch's window rows into PostgreSQL with psycopg, then a per-stream state row.

It leaves out the reference's known bugs: rows are upserted with the window's full
aggregate (so a replayed batch writes the same values, nothing is added twice), viewers are
not clamped, failOnDataLoss stays true, and every window row gets its own counts.

Run by the benchmark with trigger availableNow: the query reads from STARTING_OFFSETS up
to the end offsets the topic had when the query started, then stops by itself. The last
stdout line is `RESULT {json}` (rows read, batches, end offsets). With SPARK_BENCH_HOLD=1
the job then waits for its stdin to close before it stops Spark, so the harness can read
the CPU time and memory of the whole process tree at the moment the work was done.

SPARK_WARMUP=1 instead counts the topic's records in one batch read (not streaming) and
prints `COUNT n`: the harness's unmeasured warm-up of the page cache and the JVM's jars.
"""

import json
import os
import sys
import time

import psycopg
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

T0 = time.monotonic()


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None or value == "":
        sys.exit(f"job.py: {name} is required")
    return value


BOOTSTRAP = env("KAFKA_BOOTSTRAP")
TOPIC = env("KAFKA_TOPIC", "stream.events")
STARTING_OFFSETS = env("STARTING_OFFSETS", "earliest")
WATERMARK = env("WATERMARK", "10 minutes")
WINDOW = env("WINDOW", "1 minute")
TABLE = env("PG_TABLE", "spark_metrics_minute")
STATE_TABLE = env("PG_STATE_TABLE", "spark_stream_state")
BATCHES_TABLE = f"{TABLE}_batches"

# The wire format of docs/semantics.md section 1 (and the reference's events). `ts` is kept
# as text and parsed below: a malformed one then becomes null instead of failing the batch.
SCHEMA = T.StructType(
    [
        T.StructField("event_id", T.StringType()),
        T.StructField("ts", T.StringType()),
        T.StructField("event_type", T.StringType()),
        T.StructField("stream_id", T.StringType()),
        T.StructField("user_id", T.StringType()),
        T.StructField("message_len", T.LongType()),
        T.StructField("amount_usd", T.DoubleType()),
        T.StructField("amount", T.DoubleType()),
    ]
)

DDL = f"""
create table if not exists {TABLE} (
  window_start timestamptz not null,
  window_end timestamptz not null,
  stream_id text not null,
  events bigint not null,
  viewer_joins bigint not null,
  viewer_leaves bigint not null,
  chat_messages bigint not null,
  donation_count bigint not null,
  donations_usd double precision not null,
  updated_at timestamptz not null default now(),
  primary key (window_start, stream_id)
);
create table if not exists {STATE_TABLE} (
  stream_id text primary key,
  active_viewers bigint not null,
  last_window_start timestamptz not null,
  updated_at timestamptz not null default now()
);
create table if not exists {BATCHES_TABLE} (
  batch_id bigint primary key,
  rows integer not null,
  applied_at timestamptz not null default now()
);
"""

UPSERT = f"""
insert into {TABLE} (window_start, window_end, stream_id, events, viewer_joins, viewer_leaves,
  chat_messages, donation_count, donations_usd)
values (to_timestamp(%s), to_timestamp(%s), %s, %s, %s, %s, %s, %s, %s)
on conflict (window_start, stream_id) do update set
  window_end = excluded.window_end, events = excluded.events,
  viewer_joins = excluded.viewer_joins, viewer_leaves = excluded.viewer_leaves,
  chat_messages = excluded.chat_messages, donation_count = excluded.donation_count,
  donations_usd = excluded.donations_usd, updated_at = now()
"""

# The running per-stream state the reference keeps, recomputed from the stored windows of
# the streams this batch touched, so it is right however often a batch is replayed.
STATE_UPSERT = f"""
insert into {STATE_TABLE} (stream_id, active_viewers, last_window_start)
select stream_id, greatest(0, sum(viewer_joins - viewer_leaves)), max(window_start)
from {TABLE} where stream_id = any(%s) group by stream_id
on conflict (stream_id) do update set active_viewers = excluded.active_viewers,
  last_window_start = excluded.last_window_start, updated_at = now()
"""


def session() -> SparkSession:
    builder = (
        SparkSession.builder.master(os.environ.get("SPARK_MASTER", "local[*]"))
        .appName("rtsa-bench-spark-baseline")
        .config("spark.jars", env("SPARK_JARS"))
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        # Spark's default of 200 shuffle partitions means 200 state-store tasks per batch
        # on a 2-core machine; a few per core is what a tuned job on this machine uses.
        .config("spark.sql.shuffle.partitions", env("SPARK_SHUFFLE_PARTITIONS", "4"))
        .config("spark.sql.streaming.numRecentProgressUpdates", "100000")
    )
    for key in ("spark.driver.memory", "spark.local.dir"):
        value = os.environ.get(key.upper().replace(".", "_"))
        if value:
            builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def kafka(reader):
    return (
        reader.format("kafka")
        .option("kafka.bootstrap.servers", BOOTSTRAP)
        .option("subscribe", TOPIC)
        .option("startingOffsets", STARTING_OFFSETS)
    )


def windows(raw: DataFrame) -> DataFrame:
    e = raw.select(F.from_json(F.col("value").cast("string"), SCHEMA).alias("e")).select("e.*")
    e = e.withColumn("event_time", F.try_to_timestamp(F.col("ts")))
    e = e.where(F.col("event_time").isNotNull() & F.col("stream_id").isNotNull())

    def count_of(event_type: str):
        return F.sum(F.when(F.col("event_type") == event_type, 1).otherwise(0))

    amount = F.coalesce(F.col("amount_usd"), F.col("amount"), F.lit(0.0))
    return (
        e.withWatermark("event_time", WATERMARK)
        .groupBy(F.window("event_time", WINDOW).alias("w"), "stream_id")
        .agg(
            F.count(F.lit(1)).alias("events"),
            count_of("viewer_join").alias("viewer_joins"),
            count_of("viewer_leave").alias("viewer_leaves"),
            count_of("chat_message").alias("chat_messages"),
            count_of("donation").alias("donation_count"),
            F.sum(F.when(F.col("event_type") == "donation", amount).otherwise(0.0)).alias("donations_usd"),
        )
        # Epoch seconds: collect() would turn timestamps into naive local datetimes.
        .select(
            F.unix_timestamp(F.col("w.start")).alias("window_start"),
            F.unix_timestamp(F.col("w.end")).alias("window_end"),
            "stream_id",
            "events",
            "viewer_joins",
            "viewer_leaves",
            "chat_messages",
            "donation_count",
            "donations_usd",
        )
    )


class Sink:
    """foreachBatch: one transaction per batch on one connection kept for the query."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url)
        with self.conn.transaction():
            self.conn.execute(DDL)

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        rows = [tuple(r) for r in batch.collect()]
        with self.conn.transaction(), self.conn.cursor() as cur:
            if rows:
                cur.executemany(UPSERT, rows)
                cur.execute(STATE_UPSERT, (sorted({r[2] for r in rows}),))
            cur.execute(
                f"insert into {BATCHES_TABLE} (batch_id, rows) values (%s, %s) "
                "on conflict (batch_id) do update set rows = excluded.rows, applied_at = now()",
                (batch_id, len(rows)),
            )


def stream(spark: SparkSession) -> dict:
    sink = Sink(env("DATABASE_URL"))
    raw = kafka(spark.readStream)
    max_offsets = os.environ.get("MAX_OFFSETS_PER_TRIGGER")
    if max_offsets:
        raw = raw.option("maxOffsetsPerTrigger", max_offsets)
    query = (
        windows(raw.load())
        .writeStream.outputMode("update")
        .option("checkpointLocation", env("CHECKPOINT"))
        .foreachBatch(sink)
        .trigger(availableNow=True)
        .start()
    )
    started = time.monotonic()
    print(f"STARTED {started - T0:.3f}", flush=True)
    query.awaitTermination()
    if query.exception() is not None:
        raise RuntimeError(f"query failed: {query.exception()}")
    # The progress's JSON: its endOffset is the source's own offset JSON there, while the
    # Python attribute is only a str() of it.
    progress = [json.loads(p.json) for p in query.recentProgress]
    ends: dict = {}
    for p in progress:
        for source in p["sources"]:
            if source.get("endOffset"):
                ends = source["endOffset"]
    sink.conn.close()
    return {
        "inputRows": sum(p["numInputRows"] for p in progress),
        "batches": sum(1 for p in progress if p["numInputRows"] > 0),
        "endOffsets": ends.get(TOPIC, {}),
        "startupSeconds": started - T0,
        "querySeconds": time.monotonic() - started,
    }


def main() -> None:
    spark = session()
    if os.environ.get("SPARK_WARMUP") == "1":
        print(f"COUNT {kafka(spark.read).load().count()}", flush=True)
        spark.stop()
        return
    result = stream(spark)
    print(f"RESULT {json.dumps(result)}", flush=True)
    if os.environ.get("SPARK_BENCH_HOLD") == "1":
        sys.stdin.read()
    spark.stop()


if __name__ == "__main__":
    main()
