"""Batch codecs: lz4 (frame format) and zstd through the system's liblz4 and
libzstd via ctypes (both are installed with RocksDB, so nothing beyond the
standard library is imported). gzip and snappy are refused, as the broker
refuses them.

Thread-safety: every call uses its own codec context; safe to share.
"""

import ctypes
import ctypes.util

from runnel.errors import CorruptBatchError, UnsupportedCompressionError

NONE = 0
GZIP = 1
SNAPPY = 2
LZ4 = 3
ZSTD = 4

NAMES = {NONE: "none", GZIP: "gzip", SNAPPY: "snappy", LZ4: "lz4", ZSTD: "zstd"}
BY_NAME = {"none": NONE, "lz4": LZ4, "zstd": ZSTD}

_CHUNK = 256 * 1024
_ZSTD_LEVEL = 3  # zstd's default, as the C++ client uses

_libs = {}


def _load(name, soname):
    lib = _libs.get(name)
    if lib is not None:
        return lib
    path = soname
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        path = ctypes.util.find_library(name)
        if path is None:
            raise UnsupportedCompressionError(
                "%s batches need the system library lib%s (apt-get install lib%s1)"
                % (name, name, name)
            )
        lib = ctypes.CDLL(path)
    _setup[name](lib)
    _libs[name] = lib
    return lib


class _ZstdInBuffer(ctypes.Structure):
    _fields_ = [("src", ctypes.c_void_p), ("size", ctypes.c_size_t), ("pos", ctypes.c_size_t)]


class _ZstdOutBuffer(ctypes.Structure):
    _fields_ = [("dst", ctypes.c_void_p), ("size", ctypes.c_size_t), ("pos", ctypes.c_size_t)]


def _setup_zstd(lib):
    lib.ZSTD_createDStream.restype = ctypes.c_void_p
    lib.ZSTD_freeDStream.argtypes = [ctypes.c_void_p]
    lib.ZSTD_initDStream.argtypes = [ctypes.c_void_p]
    lib.ZSTD_initDStream.restype = ctypes.c_size_t
    lib.ZSTD_decompressStream.argtypes = [
        ctypes.c_void_p,
        ctypes.POINTER(_ZstdOutBuffer),
        ctypes.POINTER(_ZstdInBuffer),
    ]
    lib.ZSTD_decompressStream.restype = ctypes.c_size_t
    lib.ZSTD_isError.argtypes = [ctypes.c_size_t]
    lib.ZSTD_isError.restype = ctypes.c_uint
    lib.ZSTD_getErrorName.argtypes = [ctypes.c_size_t]
    lib.ZSTD_getErrorName.restype = ctypes.c_char_p
    lib.ZSTD_compressBound.argtypes = [ctypes.c_size_t]
    lib.ZSTD_compressBound.restype = ctypes.c_size_t
    lib.ZSTD_compress.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_int,
    ]
    lib.ZSTD_compress.restype = ctypes.c_size_t


class _Lz4FrameInfo(ctypes.Structure):
    _fields_ = [
        ("blockSizeID", ctypes.c_int),
        ("blockMode", ctypes.c_int),
        ("contentChecksumFlag", ctypes.c_int),
        ("frameType", ctypes.c_int),
        ("contentSize", ctypes.c_ulonglong),
        ("dictID", ctypes.c_uint),
        ("blockChecksumFlag", ctypes.c_int),
    ]


class _Lz4Preferences(ctypes.Structure):
    _fields_ = [
        ("frameInfo", _Lz4FrameInfo),
        ("compressionLevel", ctypes.c_int),
        ("autoFlush", ctypes.c_uint),
        ("favorDecSpeed", ctypes.c_uint),
        ("reserved", ctypes.c_uint * 3),
    ]


_LZ4F_VERSION = 100
_LZ4F_MAX64KB = 4
_LZ4F_BLOCK_INDEPENDENT = 1


def _setup_lz4(lib):
    lib.LZ4F_createDecompressionContext.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_uint]
    lib.LZ4F_createDecompressionContext.restype = ctypes.c_size_t
    lib.LZ4F_freeDecompressionContext.argtypes = [ctypes.c_void_p]
    lib.LZ4F_freeDecompressionContext.restype = ctypes.c_size_t
    lib.LZ4F_decompress.argtypes = [
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_size_t),
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_size_t),
        ctypes.c_void_p,
    ]
    lib.LZ4F_decompress.restype = ctypes.c_size_t
    lib.LZ4F_isError.argtypes = [ctypes.c_size_t]
    lib.LZ4F_isError.restype = ctypes.c_uint
    lib.LZ4F_getErrorName.argtypes = [ctypes.c_size_t]
    lib.LZ4F_getErrorName.restype = ctypes.c_char_p
    lib.LZ4F_compressFrameBound.argtypes = [ctypes.c_size_t, ctypes.POINTER(_Lz4Preferences)]
    lib.LZ4F_compressFrameBound.restype = ctypes.c_size_t
    lib.LZ4F_compressFrame.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.POINTER(_Lz4Preferences),
    ]
    lib.LZ4F_compressFrame.restype = ctypes.c_size_t


_setup = {"zstd": _setup_zstd, "lz4": _setup_lz4}


def _zstd():
    return _load("zstd", "libzstd.so.1")


def _lz4():
    return _load("lz4", "liblz4.so.1")


def _zstd_decompress(data):
    lib = _zstd()
    src = ctypes.create_string_buffer(bytes(data), len(data))
    dst = ctypes.create_string_buffer(_CHUNK)
    stream = lib.ZSTD_createDStream()
    if not stream:
        raise MemoryError("zstd: cannot allocate a decompression context")
    try:
        lib.ZSTD_initDStream(stream)
        inbuf = _ZstdInBuffer(ctypes.cast(src, ctypes.c_void_p), len(data), 0)
        out = bytearray()
        while True:
            outbuf = _ZstdOutBuffer(ctypes.cast(dst, ctypes.c_void_p), _CHUNK, 0)
            r = lib.ZSTD_decompressStream(stream, ctypes.byref(outbuf), ctypes.byref(inbuf))
            if lib.ZSTD_isError(r):
                raise CorruptBatchError("zstd: " + lib.ZSTD_getErrorName(r).decode())
            out += dst.raw[: outbuf.pos]
            if inbuf.pos == inbuf.size and outbuf.pos < outbuf.size:
                if r != 0:  # output room left, input gone, frame unfinished
                    raise CorruptBatchError("zstd: data ends inside a frame")
                return bytes(out)
    finally:
        lib.ZSTD_freeDStream(stream)


def _zstd_compress(data):
    lib = _zstd()
    bound = lib.ZSTD_compressBound(len(data))
    dst = ctypes.create_string_buffer(bound)
    r = lib.ZSTD_compress(dst, bound, bytes(data), len(data), _ZSTD_LEVEL)
    if lib.ZSTD_isError(r):
        raise RuntimeError("zstd: " + lib.ZSTD_getErrorName(r).decode())
    return dst.raw[:r]


def _lz4_decompress(data):
    lib = _lz4()
    ctx = ctypes.c_void_p()
    r = lib.LZ4F_createDecompressionContext(ctypes.byref(ctx), _LZ4F_VERSION)
    if lib.LZ4F_isError(r):
        raise MemoryError("lz4: " + lib.LZ4F_getErrorName(r).decode())
    try:
        src = ctypes.create_string_buffer(bytes(data), len(data))
        dst = ctypes.create_string_buffer(_CHUNK)
        base = ctypes.cast(src, ctypes.c_void_p).value
        pos = 0
        hint = 1
        out = bytearray()
        while pos < len(data):
            dst_size = ctypes.c_size_t(_CHUNK)
            src_size = ctypes.c_size_t(len(data) - pos)
            hint = lib.LZ4F_decompress(
                ctx, dst, ctypes.byref(dst_size), base + pos, ctypes.byref(src_size), None
            )
            if lib.LZ4F_isError(hint):
                raise CorruptBatchError("lz4: " + lib.LZ4F_getErrorName(hint).decode())
            pos += src_size.value
            out += dst.raw[: dst_size.value]
        # The input is gone; drain what the context still buffers.
        while hint != 0:
            dst_size = ctypes.c_size_t(_CHUNK)
            src_size = ctypes.c_size_t(0)
            hint = lib.LZ4F_decompress(
                ctx, dst, ctypes.byref(dst_size), None, ctypes.byref(src_size), None
            )
            if lib.LZ4F_isError(hint):
                raise CorruptBatchError("lz4: " + lib.LZ4F_getErrorName(hint).decode())
            if dst_size.value == 0:
                if hint != 0:
                    raise CorruptBatchError("lz4: data ends inside a frame")
                break
            out += dst.raw[: dst_size.value]
        return bytes(out)
    finally:
        lib.LZ4F_freeDecompressionContext(ctx)


def _lz4_compress(data):
    lib = _lz4()
    # Kafka's LZ4 reader needs independent blocks; its writer uses 64 KiB ones.
    prefs = _Lz4Preferences()
    prefs.frameInfo.blockSizeID = _LZ4F_MAX64KB
    prefs.frameInfo.blockMode = _LZ4F_BLOCK_INDEPENDENT
    bound = lib.LZ4F_compressFrameBound(len(data), ctypes.byref(prefs))
    dst = ctypes.create_string_buffer(bound)
    r = lib.LZ4F_compressFrame(dst, bound, bytes(data), len(data), ctypes.byref(prefs))
    if lib.LZ4F_isError(r):
        raise RuntimeError("lz4: " + lib.LZ4F_getErrorName(r).decode())
    return dst.raw[:r]


def _unsupported(codec):
    return UnsupportedCompressionError(
        "record batch compressed with %s, which Runnel does not support (none, lz4, zstd)"
        % NAMES.get(codec, "codec %d" % codec)
    )


def decompress(codec, data):
    """The records section of a batch compressed with `codec`."""
    if codec == NONE:
        return bytes(data)
    if codec == LZ4:
        return _lz4_decompress(data)
    if codec == ZSTD:
        return _zstd_decompress(data)
    raise _unsupported(codec)


def compress(codec, data):
    if codec == NONE:
        return bytes(data)
    if codec == LZ4:
        return _lz4_compress(data)
    if codec == ZSTD:
        return _zstd_compress(data)
    raise _unsupported(codec)
