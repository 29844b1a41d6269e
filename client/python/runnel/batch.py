"""Record batches in Kafka's RecordBatch v2 layout (docs/batch-format.md):
building a batch to produce and decoding the batches a fetch returns.

Thread-safety: pure functions and immutable results.
"""

import struct
from collections import namedtuple

from runnel import compression
from runnel.crc32c import crc32c
from runnel.errors import CorruptBatchError

MAGIC = 2
HEADER_SIZE = 61  # records start here
LOG_OVERHEAD = 12  # base_offset and batch_length, before the counted bytes
CRC_OFFSET = 17  # uint32, big-endian
ATTRIBUTES_OFFSET = 21  # the CRC covers [21, end)
ATTR_COMPRESSION_MASK = 0x07
ATTR_LOG_APPEND_TIME = 0x08
ATTR_TRANSACTIONAL = 0x10
ATTR_CONTROL = 0x20

# base_offset, batch_length, partition_leader_epoch, magic, crc, attributes,
# last_offset_delta, first_timestamp, max_timestamp, producer_id,
# producer_epoch, base_sequence, record_count
_HEADER = struct.Struct(">qiibIhiqqqhii")
assert _HEADER.size == HEADER_SIZE

# A record as a consumer gets it: key and value are bytes or None (a None
# value is a tombstone), headers a tuple of (str, bytes or None) pairs,
# timestamp_ms milliseconds since the Unix epoch.
Record = namedtuple("Record", "topic partition offset timestamp_ms key value headers")


class Batch(
    namedtuple(
        "Batch",
        "base_offset last_offset_delta partition_leader_epoch attributes first_timestamp "
        "max_timestamp record_count records",
    )
):
    """A decoded batch header plus its records (Record tuples). After log
    compaction offsets may have gaps and records may be empty: a reader moves
    past last_offset, not past its last record."""

    __slots__ = ()

    @property
    def last_offset(self):
        return self.base_offset + self.last_offset_delta

    @property
    def compression(self):
        return self.attributes & ATTR_COMPRESSION_MASK

    @property
    def is_control(self):
        return bool(self.attributes & ATTR_CONTROL)


# ---- varints (zigzag, as Protobuf's sint32/sint64) ----


def write_varint(out, n):
    """Appends the zigzag varint of `n` to bytearray `out`."""
    z = (n << 1) ^ (n >> 63)
    z &= 0xFFFFFFFFFFFFFFFF
    while z >= 0x80:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)


def read_varint(data, pos, end):
    """Reads a zigzag varint at data[pos:end]; returns (value, new_pos)."""
    shift = 0
    z = 0
    while True:
        if pos >= end:
            raise CorruptBatchError("varint runs past the end of its record")
        b = data[pos]
        pos += 1
        z |= (b & 0x7F) << shift
        if not b & 0x80:
            break
        shift += 7
        if shift > 63:
            raise CorruptBatchError("varint longer than 10 bytes")
    return (z >> 1) ^ -(z & 1), pos


def _as_bytes(x, what):
    if x is None or isinstance(x, bytes):
        return x
    if isinstance(x, str):
        return x.encode()
    if isinstance(x, (bytearray, memoryview)):
        return bytes(x)
    raise TypeError("%s must be bytes, str or None, not %s" % (what, type(x).__name__))


def _write_bytes(out, b):
    if b is None:
        write_varint(out, -1)
    else:
        write_varint(out, len(b))
        out += b


def encode_record(offset_delta, timestamp_delta, key, value, headers):
    body = bytearray()
    body.append(0)  # attributes
    write_varint(body, timestamp_delta)
    write_varint(body, offset_delta)
    _write_bytes(body, key)
    _write_bytes(body, value)
    write_varint(body, len(headers))
    for hkey, hvalue in headers:
        _write_bytes(body, hkey.encode() if isinstance(hkey, str) else bytes(hkey))
        _write_bytes(body, _as_bytes(hvalue, "header value"))
    out = bytearray()
    write_varint(out, len(body))
    return out + body


def encode_batch(records, codec=compression.NONE):
    """One batch holding `records`, each a (timestamp_ms, key, value, headers)
    tuple (key/value bytes, str or None; headers (str, bytes|str|None) pairs),
    with base_offset and partition_leader_epoch 0 for the broker to fill."""
    if not records:
        raise ValueError("a batch needs at least one record")
    first_ts = records[0][0]
    max_ts = max(r[0] for r in records)
    body = bytearray()
    for i, (ts, key, value, headers) in enumerate(records):
        body += encode_record(
            i, ts - first_ts, _as_bytes(key, "key"), _as_bytes(value, "value"), headers or ()
        )
    body = compression.compress(codec, body)
    # The CRC'd part: attributes to the end.
    n = len(records)
    # attributes .. record_count; producer id, epoch and sequence -1 (none).
    tail = bytearray(struct.pack(">hiqqqhii", codec, n - 1, first_ts, max_ts, -1, -1, -1, n))
    tail += body
    crc = crc32c(tail)
    batch_length = HEADER_SIZE - LOG_OVERHEAD + len(body)
    return struct.pack(">qiibI", 0, batch_length, 0, MAGIC, crc) + bytes(tail)


def encoded_record_size(key, value, headers):
    """Bytes a record takes in an uncompressed batch (for batch sizing)."""
    return len(encode_record(0, 0, _as_bytes(key, "key"), _as_bytes(value, "value"), headers or ()))


def _read_bytes(data, pos, end, what):
    n, pos = read_varint(data, pos, end)
    if n < 0:
        return None, pos
    if pos + n > end:
        raise CorruptBatchError("%s of %d bytes runs past the end of its record" % (what, n))
    return bytes(data[pos : pos + n]), pos + n


def _decode_records(data, header, topic, partition):
    (base_offset, _, _, _, _, attributes, _, first_ts, max_ts, _, _, _, count) = header
    log_append = attributes & ATTR_LOG_APPEND_TIME
    records = []
    pos = 0
    end_all = len(data)
    for i in range(count):
        length, pos = read_varint(data, pos, end_all)
        end = pos + length
        if length < 0 or end > end_all:
            raise CorruptBatchError("record %d length %d runs past the batch" % (i, length))
        pos += 1  # attributes
        ts_delta, pos = read_varint(data, pos, end)
        offset_delta, pos = read_varint(data, pos, end)
        key, pos = _read_bytes(data, pos, end, "key")
        value, pos = _read_bytes(data, pos, end, "value")
        nheaders, pos = read_varint(data, pos, end)
        if nheaders < 0:
            raise CorruptBatchError("record %d has %d headers" % (i, nheaders))
        headers = []
        for _ in range(nheaders):
            hkey, pos = _read_bytes(data, pos, end, "header key")
            if hkey is None:
                raise CorruptBatchError("record %d has a null header key" % i)
            hvalue, pos = _read_bytes(data, pos, end, "header value")
            headers.append((hkey.decode(errors="replace"), hvalue))
        if pos != end:
            raise CorruptBatchError("record %d has %d bytes after its headers" % (i, end - pos))
        ts = max_ts if log_append else first_ts + ts_delta
        records.append(
            Record(topic, partition, base_offset + offset_delta, ts, key, value, tuple(headers))
        )
    if pos != end_all:
        raise CorruptBatchError(
            "%d bytes after the last of %d records" % (end_all - pos, count)
        )
    return records


def decode_batches(data, topic=None, partition=None, check_crc=True):
    """Decodes the whole batches in `data` (a Fetch answer's records), checking
    each CRC32C. A truncated batch at the end is ignored (a broker returns
    whole batches; this keeps a byte-limited reader safe). Raises
    CorruptBatchError, or UnsupportedCompressionError for gzip/snappy."""
    data = memoryview(data)
    batches = []
    pos = 0
    while len(data) - pos >= LOG_OVERHEAD:
        (batch_length,) = struct.unpack_from(">i", data, pos + 8)
        size = LOG_OVERHEAD + batch_length
        if batch_length < HEADER_SIZE - LOG_OVERHEAD:
            raise CorruptBatchError("batch at byte %d has length %d" % (pos, batch_length))
        if len(data) - pos < size:
            break  # partial batch
        header = _HEADER.unpack_from(data, pos)
        magic, crc, attributes = header[3], header[4], header[5]
        if magic != MAGIC:
            raise CorruptBatchError("batch at offset %d has magic %d, want 2" % (header[0], magic))
        if check_crc:
            actual = crc32c(data[pos + ATTRIBUTES_OFFSET : pos + size])
            if actual != crc:
                raise CorruptBatchError(
                    "batch at offset %d: CRC32C mismatch (header 0x%08x, computed 0x%08x)"
                    % (header[0], crc, actual)
                )
        body = data[pos + HEADER_SIZE : pos + size]
        body = compression.decompress(attributes & ATTR_COMPRESSION_MASK, body)
        records = _decode_records(body, header, topic, partition)
        batches.append(
            Batch(header[0], header[6], header[2], attributes, header[7], header[8], header[12], records)
        )
        pos += size
    return batches
