"""CRC32C (Castagnoli), the checksum of Kafka's RecordBatch v2, in pure Python.

Table-driven, one byte at a time: about 10 MB/s, enough for a client that
checks what it fetches. Thread-safe (pure).
"""

_POLY = 0x82F63B78  # reflected Castagnoli polynomial


def _make_table():
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _make_table()


def crc32c(data, crc=0):
    """CRC32C of `data` (bytes-like), continuing from `crc`."""
    crc ^= 0xFFFFFFFF
    table = _TABLE
    for b in bytes(data):
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF
