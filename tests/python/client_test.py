"""Tests of the Python client (client/python): the batch codec and
partitioner without a network, then produce/consume against a real cluster
of two brokers, compatibility with the C++ client (`runnel` CLI and
runnel-perf), and consumer groups."""

import struct
import subprocess
import time
import unittest

from runnel import (
    CommitFailedError,
    Consumer,
    CorruptBatchError,
    OffsetOutOfRangeError,
    Producer,
    TopicNotFoundError,
    UnsupportedCompressionError,
    batch,
    compression,
    partition_for_key,
)
from runnel import consumer as consumer_module
from runnel import errors
from runnel._proto import groups_pb2
from runnel.crc32c import crc32c
from runnel.partitioner import murmur2

import cluster as local_cluster


class CodecTest(unittest.TestCase):
    def test_crc32c_check_value(self):
        self.assertEqual(crc32c(b"123456789"), 0xE3069283)
        self.assertEqual(crc32c(b""), 0)

    def test_murmur2_matches_kafka(self):
        # Kafka's UtilsTest.testMurmur2 vectors.
        cases = {
            b"21": -973932308,
            b"foobar": -790332482,
            b"a-little-bit-long-string": -985981536,
            b"a-little-bit-longer-string": -1486304829,
            b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
            b"abc": 479470107,
        }
        for data, want in cases.items():
            self.assertEqual(murmur2(data), want, data)
        self.assertEqual(partition_for_key(b"21", 7), (-973932308 & 0x7FFFFFFF) % 7)

    def test_varint_round_trip(self):
        for n in [0, 1, -1, 63, -64, 64, 300, -300, 2**31 - 1, -(2**31), 2**62, -(2**63)]:
            out = bytearray()
            batch.write_varint(out, n)
            value, pos = batch.read_varint(out, 0, len(out))
            self.assertEqual((value, pos), (n, len(out)), n)
        out = bytearray()
        batch.write_varint(out, -1)
        self.assertEqual(bytes(out), b"\x01")  # zigzag
        with self.assertRaises(CorruptBatchError):
            batch.read_varint(b"\x80\x80", 0, 2)

    def _records(self):
        return [
            (1000, b"k1", b"v1", [("h1", b"x"), ("h2", None)]),
            (990, None, b"no key", []),  # earlier than the first: negative delta
            (1005, "str-key", None, [("h", "text")]),  # tombstone
            (1001, b"", b"", []),  # empty, not null
        ]

    def test_batch_layout(self):
        data = batch.encode_batch(self._records())
        (base, length, epoch, magic, crc, attrs, last_delta, first_ts, max_ts, pid, pepoch, seq, count) = struct.unpack_from(
            ">qiibIhiqqqhii", data
        )
        self.assertEqual((base, epoch, magic, attrs), (0, 0, 2, 0))
        self.assertEqual(length, len(data) - 12)
        self.assertEqual(crc, crc32c(data[21:]))
        self.assertEqual((last_delta, count), (3, 4))
        self.assertEqual((first_ts, max_ts), (1000, 1005))
        self.assertEqual((pid, pepoch, seq), (-1, -1, -1))

    def test_batch_round_trip_every_codec(self):
        for codec in (compression.NONE, compression.LZ4, compression.ZSTD):
            data = batch.encode_batch(self._records(), codec)
            # Pretend the broker stamped offsets 40.. and epoch 3 (outside the CRC).
            data = struct.pack(">q", 40) + data[8:12] + struct.pack(">i", 3) + data[16:]
            [b] = batch.decode_batches(data + data[:20], "t", 2)  # a partial batch is ignored
            self.assertEqual(b.compression, codec)
            self.assertEqual((b.base_offset, b.last_offset, b.partition_leader_epoch), (40, 43, 3))
            got = [(r.offset, r.timestamp_ms, r.key, r.value, r.headers) for r in b.records]
            self.assertEqual(
                got,
                [
                    (40, 1000, b"k1", b"v1", (("h1", b"x"), ("h2", None))),
                    (41, 990, None, b"no key", ()),
                    (42, 1005, b"str-key", None, (("h", b"text"),)),
                    (43, 1001, b"", b"", ()),
                ],
            )
            self.assertEqual({(r.topic, r.partition) for r in b.records}, {("t", 2)})

    def test_consumer_moves_past_compacted_batch_ends(self):
        def stored_batch(base_offset, last_offset_delta, deltas):
            body = bytearray()
            for d in deltas:
                body += batch.encode_record(d, 0, b"k%d" % d, b"v", ())
            tail = struct.pack(">hiqqqhii", 0, last_offset_delta, 5, 5, -1, -1, -1, len(deltas)) + bytes(body)
            head = struct.pack(">qiibI", base_offset, 9 + len(tail), 0, 2, crc32c(tail))
            return head + tail

        # Offsets 10..15 with only 10 and 13 left, then 16..17 with none left.
        data = stored_batch(10, 5, [0, 3]) + stored_batch(16, 1, [])
        consumer = Consumer("127.0.0.1:1")  # never connects: _append is local
        consumer._partitions[("t", 0)] = consumer_module._Partition(11, None)
        p = consumer._partitions[("t", 0)]
        consumer._append(("t", 0), p, data)
        self.assertEqual([r.offset for r in consumer._drain()], [13])  # 10 is before the position
        self.assertEqual(p.position, 18)  # past both batches, not just record 13
        consumer.close()

    def test_corrupt_crc_is_refused(self):
        data = bytearray(batch.encode_batch(self._records()))
        data[-1] ^= 0xFF
        with self.assertRaisesRegex(CorruptBatchError, "CRC32C mismatch"):
            batch.decode_batches(bytes(data))

    def test_gzip_is_refused_clearly(self):
        data = bytearray(batch.encode_batch(self._records()))
        struct.pack_into(">h", data, 21, compression.GZIP)
        struct.pack_into(">I", data, 17, crc32c(data[21:]))
        with self.assertRaisesRegex(UnsupportedCompressionError, "gzip"):
            batch.decode_batches(bytes(data))

    def test_truncated_compressed_data_is_corrupt(self):
        for codec in (compression.LZ4, compression.ZSTD):
            packed = compression.compress(codec, b"x" * 5000)
            self.assertEqual(compression.decompress(codec, packed), b"x" * 5000)
            with self.assertRaises(CorruptBatchError):
                compression.decompress(codec, packed[:-6])


class ClusterTestCase(local_cluster.ClusterTestCase):
    brokers = 2  # so that partitions have different leaders


class ProduceConsumeTest(ClusterTestCase):
    def test_round_trip_keys_headers_timestamps(self):
        self.admin.create_topic("roundtrip", partitions=3)
        sent = []
        with Producer(self.bootstrap, linger_ms=1000, batch_bytes=300) as producer:
            for i in range(60):
                key = None if i % 6 == 0 else "user-%d" % (i % 7)
                value = None if i % 10 == 9 else ("event-%d" % i).encode()
                headers = [("seq", str(i).encode()), ("null", None)] if i % 2 else []
                ts = 1_600_000_000_000 + (i * 7919) % 1000  # not monotonic
                meta = producer.send("roundtrip", value, key=key, headers=headers, timestamp_ms=ts)
                sent.append((meta, key, value, headers, ts))
            producer.flush()
        for meta, key, *_ in sent:
            self.assertGreaterEqual(meta.offset, 0)
            if key is not None:
                self.assertEqual(meta.partition, partition_for_key(key.encode(), 3))
        records = self.read_topic("roundtrip", len(sent))
        self.assertEqual(len(records), len(sent))
        got = {(r.partition, r.offset): r for r in records}
        for meta, key, value, headers, ts in sent:
            r = got[(meta.partition, meta.offset)]
            self.assertEqual(r.key, None if key is None else key.encode())
            self.assertEqual(r.value, value)
            self.assertEqual(list(r.headers), headers)
            self.assertEqual(r.timestamp_ms, ts)
        # Offsets are dense per partition and records come in offset order.
        for p in range(3):
            offsets = [r.offset for r in records if r.partition == p]
            self.assertEqual(offsets, list(range(len(offsets))))

    def test_compressed_round_trip(self):
        self.admin.create_topic("compressed", partitions=1)
        for codec in ("lz4", "zstd"):
            with Producer(self.bootstrap, compression_type=codec) as producer:
                for i in range(200):
                    producer.send("compressed", ("%s value %d " % (codec, i)) * 20, key=str(i))
        records = self.read_topic("compressed", 400)
        self.assertEqual(len(records), 400)
        self.assertEqual(records[0].value, b"lz4 value 0 " * 20)
        self.assertEqual(records[399].value, b"zstd value 199 " * 20)

    def test_produce_retries_not_leader_after_refresh(self):
        info = self.admin.create_topic("moved", partitions=2)
        leaders = {p.partition: p.leader for p in info.partitions}
        self.assertNotEqual(leaders[0], leaders[1], "placement should spread over both brokers")
        with Producer(self.bootstrap) as producer:
            producer.cluster.topic("moved")
            # A stale cache: partition 0 "led" by the broker leading partition 1.
            wrong = self.cluster.broker_addresses[leaders[1] - 1]
            producer.cluster.set_leader_for_test("moved", 0, wrong)
            self.assertEqual(producer.cluster.leader("moved", 0), wrong)
            meta = producer.produce("moved", b"after NOT_LEADER", partition=0)
            self.assertEqual((meta.partition, meta.offset), (0, 0))
            self.assertNotEqual(producer.cluster.leader("moved", 0), wrong)
        # The consumer recovers from the same stale cache.
        with Consumer(self.bootstrap) as consumer:
            consumer.assign([("moved", 0, 0)])
            consumer.cluster.set_leader_for_test("moved", 0, wrong)
            records = []
            deadline = time.monotonic() + 10
            while not records and time.monotonic() < deadline:
                records = consumer.poll(0.5)
            self.assertEqual([(r.partition, r.value) for r in records], [(0, b"after NOT_LEADER")])
            self.assertNotEqual(consumer.cluster.leader("moved", 0), wrong)

    def test_unknown_topic(self):
        with Producer(self.bootstrap) as producer:
            with self.assertRaisesRegex(TopicNotFoundError, "'no-such-topic'"):
                producer.send("no-such-topic", b"x")

    def test_offset_out_of_range_names_valid_range(self):
        self.admin.create_topic("short", partitions=1)
        with Producer(self.bootstrap) as producer:
            producer.send("short", b"only")
        consumer = Consumer(self.bootstrap)
        try:
            consumer.assign([("short", 0, 1000)])
            with self.assertRaises(OffsetOutOfRangeError) as ctx:
                consumer.poll(2)
            self.assertIn("OFFSET_OUT_OF_RANGE", str(ctx.exception))
            self.assertEqual(consumer.position("short", 0), 1000)
            consumer.seek("short", 0, 0)
            self.assertEqual([r.value for r in consumer.poll(2)], [b"only"])
        finally:
            consumer.close()

    def test_latest_start_sees_only_new_records(self):
        self.admin.create_topic("latest", partitions=2)
        with Producer(self.bootstrap) as producer:
            producer.send("latest", b"old", key="a")
            producer.flush()
            consumer = Consumer(self.bootstrap, auto_offset_reset="latest")
            try:
                consumer.assign_topic("latest")
                self.assertEqual(consumer.poll(0.3), [])
                producer.produce("latest", b"new", key="a")
                records = []
                deadline = time.monotonic() + 5
                while not records and time.monotonic() < deadline:
                    records = consumer.poll(0.5)
                self.assertEqual([r.value for r in records], [b"new"])
            finally:
                consumer.close()
        self.assertEqual(sum(self.admin.end_offsets("latest").values()), 2)

    def test_admin_describe(self):
        self.admin.create_topic("described", partitions=3, configs={"retention.ms": "3600000"})
        topic = self.admin.describe_topic("described")
        self.assertEqual(len(topic.partitions), 3)
        self.assertEqual(dict(topic.configs), {"retention.ms": "3600000"})
        self.assertIn("described", self.admin.list_topics())
        self.assertEqual(len(self.admin.describe_cluster().brokers), 2)
        self.admin.create_topic("described", partitions=3, exist_ok=True)
        with self.assertRaisesRegex(Exception, "ALREADY_EXISTS"):
            self.admin.create_topic("described", partitions=3)


class CppCompatibilityTest(ClusterTestCase):
    """The Python and C++ clients agree on partitions and batches."""

    def keys(self):
        return ["key-%d" % i for i in range(150)] + ["", "ü-utf8", "a", "ab", "abc", "abcd"]

    def cli_records(self, topic, expected):
        """(partition, offset, key, value) of every record, read with the C++ CLI."""
        result = self.cluster.cli(
            "consume", topic, "--from-beginning", "--timeout-ms=1500", "--print-key", "--print-offset"
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        out = []
        for line in result.stdout.decode().splitlines():
            where, key, value = line.split("\t")
            p, o = where.split()
            out.append((int(p.split("=")[1]), int(o.split("=")[1]), key, value))
        self.assertEqual(len(out), expected)
        return out

    def test_keyed_records_land_where_cpp_puts_them(self):
        keys = self.keys()
        self.admin.create_topic("py-keyed", partitions=5)
        self.admin.create_topic("cpp-keyed", partitions=5)
        with Producer(self.bootstrap) as producer:
            for k in keys:
                producer.send("py-keyed", "v-" + k, key=k, headers=[("from", b"python")])
        lines = "".join("%s:v-%s\n" % (k, k) for k in keys)
        result = self.cluster.cli("produce", "cpp-keyed", "--key-separator=:", input=lines.encode())
        self.assertEqual(result.returncode, 0, result.stderr)

        # The C++ CLI reads what Python wrote ...
        py_placement = {}
        for p, _, key, value in self.cli_records("py-keyed", len(keys)):
            self.assertEqual(value, "v-" + key)
            py_placement[key] = p
        # ... and Python reads what C++ wrote.
        cpp_placement = {}
        for r in self.read_topic("cpp-keyed", len(keys)):
            self.assertEqual(r.value, b"v-" + r.key)
            cpp_placement[r.key.decode()] = r.partition
        self.assertEqual(len(cpp_placement), len(keys))
        self.assertEqual(py_placement, cpp_placement)
        for k in keys:
            self.assertEqual(cpp_placement[k], partition_for_key(k.encode(), 5), k)
        self.assertGreater(len(set(cpp_placement.values())), 3)

    def test_cpp_compressed_batches_decode(self):
        for codec in ("lz4", "zstd"):
            topic = "perf-" + codec
            self.admin.create_topic(topic, partitions=2)
            result = subprocess.run(
                [
                    local_cluster.binary("client/perf/runnel-perf"),
                    "produce",
                    "--topic=" + topic,
                    "--records=300",
                    "--record-size=200",
                    "--compression=" + codec,
                    "--bootstrap=" + self.cluster.broker_addresses[0],
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                timeout=60,
            )
            self.assertEqual(result.returncode, 0, result.stderr)
            records = self.read_topic(topic, 300)
            self.assertEqual(len(records), 300, codec)
            self.assertTrue(all(len(r.value) == 200 for r in records), codec)


class GroupTest(ClusterTestCase):
    """Consumer groups (groups.proto) through the brokers' Groups service."""

    def group_consumer(self, group, **kwargs):
        kwargs.setdefault("auto_offset_reset", "earliest")
        kwargs.setdefault("session_timeout_ms", 6000)
        return Consumer(self.bootstrap, group_id=group, client_id=group + "-member", **kwargs)

    def produce_keyed(self, topic, start, count):
        with Producer(self.bootstrap) as producer:
            for i in range(start, start + count):
                producer.send(topic, "value-%d" % i, key="key-%d" % i)

    def assert_disjoint(self, consumers):
        seen = {}
        for i, c in enumerate(consumers):
            for tp in c.assignment():
                self.assertNotIn(tp, seen, "%s owned by consumers %s and %d" % (tp, seen.get(tp), i))
                seen[tp] = i

    def test_two_members_split_and_restart_resumes(self):
        topic, group = "grouped", "split-group"
        self.admin.create_topic(topic, partitions=4)
        self.produce_keyed(topic, 0, 200)
        # Small polls, so that a has read only part of its partitions when b
        # joins: the moving partitions must continue at a's commit.
        a = self.group_consumer(group, max_poll_records=15)
        b = self.group_consumer(group, max_poll_records=15)
        values = []
        try:
            a.subscribe([topic])
            deadline = time.monotonic() + 10
            while len(values) < 60 and time.monotonic() < deadline:
                values += [r.value for r in a.poll(0.2)]
            self.assertEqual(a.assignment(), {(topic, p) for p in range(4)})
            b.subscribe(topic)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                for c in (a, b):
                    values += [r.value for r in c.poll(0.1)]
                    self.assert_disjoint([a, b])
                if len(a.assignment()) == 2 and len(b.assignment()) == 2 and len(values) >= 200:
                    break
            self.assertEqual(len(a.assignment()), 2, "member a owns %s" % a.assignment())
            self.assertEqual(len(b.assignment()), 2, "member b owns %s" % b.assignment())
            self.assertEqual(a.assignment() | b.assignment(), {(topic, p) for p in range(4)})
            # Every record once: partitions moved only after a committed them.
            self.assertEqual(sorted(values), sorted(("value-%d" % i).encode() for i in range(200)))

            # The coordinator agrees: no partition owned twice, group stable.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                for c in (a, b):
                    c.poll(0.1)
                described = self.admin.describe_group(group)
                if described.state == groups_pb2.GROUP_STATE_STABLE:
                    break
            self.assertEqual(described.state, groups_pb2.GROUP_STATE_STABLE)
            self.assertEqual(len(described.members), 2)
            owned = [(t.topic, p) for m in described.members for t in m.owned_partitions for p in t.partitions]
            self.assertEqual(sorted(owned), [(topic, p) for p in range(4)])

            a.commit()
            b.commit()
        finally:
            a.close()
            b.close()
        committed = self.admin.committed_offsets(group, topic)
        self.assertEqual(sum(committed.values()), 200)
        self.assertEqual(committed, {(topic, p): o for p, o in self.admin.end_offsets(topic).items()})

        # A new member resumes from the committed offsets: only new records.
        self.produce_keyed(topic, 200, 40)
        c = self.group_consumer(group)
        try:
            c.subscribe([topic])
            fresh = []
            deadline = time.monotonic() + 15
            while len(fresh) < 40 and time.monotonic() < deadline:
                fresh += [r.value for r in c.poll(0.3)]
            fresh += [r.value for r in c.poll(0.3)]
            self.assertEqual(sorted(fresh), sorted(("value-%d" % i).encode() for i in range(200, 240)))
        finally:
            c.close()

    def test_latest_reset_and_fenced_commit_after_leave(self):
        topic, group = "grouped-latest", "latest-group"
        self.admin.create_topic(topic, partitions=2)
        self.produce_keyed(topic, 0, 10)
        c = self.group_consumer(group, auto_offset_reset="latest", enable_auto_commit=False)
        try:
            c.subscribe(topic)
            deadline = time.monotonic() + 10
            while len(c.assignment()) < 2 and time.monotonic() < deadline:
                self.assertEqual(c.poll(0.2), [])
            self.assertEqual(len(c.assignment()), 2)
            self.produce_keyed(topic, 10, 5)
            got = []
            deadline = time.monotonic() + 10
            while len(got) < 5 and time.monotonic() < deadline:
                got += c.poll(0.3)
            self.assertEqual(sorted(r.value for r in got), sorted(("value-%d" % i).encode() for i in range(10, 15)))
            c.commit()
            member_id, generation = c.member()
            self.assertTrue(member_id)
        finally:
            c.close()
        self.assertEqual(sum(self.admin.committed_offsets(group, topic).values()), 15)
        # The member left: a commit in its name is fenced.
        zombie = groups_pb2.CommitOffsetsRequest(
            group_id=group,
            member_id=member_id,
            generation=generation,
            offsets=[groups_pb2.PartitionOffset(topic=topic, partition=0, offset=0)],
        )
        response = self.admin.cluster.groups("CommitOffsets", "CommitOffsets", zombie)
        self.assertEqual([r.error_code for r in response.results], [errors.UNKNOWN_MEMBER_ID])
        self.assertEqual(sum(self.admin.committed_offsets(group, topic).values()), 15)

    def test_removed_member_rejoins_and_continues(self):
        topic, group = "grouped-rejoin", "rejoin-group"
        self.admin.create_topic(topic, partitions=2)
        self.produce_keyed(topic, 0, 20)
        lost = []
        c = self.group_consumer(group, session_timeout_ms=1500, on_lost=lost.extend)
        try:
            c.subscribe(topic)
            got = []
            deadline = time.monotonic() + 10
            while len(got) < 20 and time.monotonic() < deadline:
                got += c.poll(0.2)
            c.commit()
            old_member, _ = c.member()
            # Stall the heartbeat thread (as a long GC pause or a stopped
            # process would) past the 1.5 s session timeout: the coordinator
            # removes the member, its next heartbeat gets UNKNOWN_MEMBER_ID.
            with c._membership._lock:
                time.sleep(2.5)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                c.poll(0.2)
                if lost and len(c.assignment()) == 2:
                    break
            self.assertEqual(sorted(lost), [(topic, 0), (topic, 1)])  # lost, then reassigned
            self.assertEqual(len(c.assignment()), 2)
            self.assertNotIn(c.member()[0], ("", old_member))
            self.produce_keyed(topic, 20, 5)
            more = []
            deadline = time.monotonic() + 10
            while len(more) < 5 and time.monotonic() < deadline:
                more += c.poll(0.2)
            # Resumed from the commit: only the new records.
            self.assertEqual(sorted(r.value for r in more), sorted(("value-%d" % i).encode() for i in range(20, 25)))
        finally:
            c.close()

    def test_commit_of_revoked_partition_is_fenced(self):
        topic, group = "grouped-fence", "fence-group"
        self.admin.create_topic(topic, partitions=2)
        a = self.group_consumer(group, enable_auto_commit=False)
        b = self.group_consumer(group, enable_auto_commit=False)
        try:
            a.subscribe(topic)
            deadline = time.monotonic() + 10
            while len(a.assignment()) < 2 and time.monotonic() < deadline:
                a.poll(0.2)
            self.assertEqual(len(a.assignment()), 2)
            stale = {tp: 0 for tp in a.assignment()}
            b.subscribe(topic)
            deadline = time.monotonic() + 15
            while not (len(a.assignment()) == 1 and len(b.assignment()) == 1) and time.monotonic() < deadline:
                a.poll(0.1)
                b.poll(0.1)
                self.assert_disjoint([a, b])
            self.assertEqual((len(a.assignment()), len(b.assignment())), (1, 1))
            with self.assertRaises(CommitFailedError):
                a.commit(stale)  # one of them now belongs to b
        finally:
            a.close()
            b.close()


if __name__ == "__main__":
    unittest.main()
