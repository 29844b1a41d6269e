"""Exposes Debian's system libraries as Bazel targets in @system.

The link flags come from pkg-config where the library ships a .pc file, so
they live in exactly one place. Headers are in /usr/include and need no
includes. Usage: deps = ["@system//:grpc"], ["@system//:rocksdb"], ...
"""

# name -> (pkg-config modules, extra linkopts used when there is no .pc file)
_LIBS = {
    "grpc": (["grpc++", "protobuf"], []),
    "protobuf": (["protobuf"], []),
    "rocksdb": (["rocksdb"], ["-lrocksdb"]),
    "zstd": (["libzstd"], ["-lzstd"]),
    "lz4": (["liblz4"], ["-llz4"]),
    # cpp-httplib (libcpp-httplib-dev): the /metrics HTTP endpoint.
    "httplib": (["cpp-httplib"], ["-lcpp-httplib"]),
    "benchmark": ([], ["-lbenchmark", "-lpthread"]),
    "gtest": ([], ["-lgtest", "-lpthread"]),
    "gtest_main": ([], ["-lgtest_main", "-lgtest", "-lpthread"]),
    "gmock": ([], ["-lgmock", "-lgtest", "-lpthread"]),
}

# Abseil components we use, linked directly (libabsl-dev ships one .so each).
_ABSL = [
    "status", "statusor", "strings", "str_format_internal", "synchronization",
    "time", "time_zone", "hash", "raw_hash_set", "city", "low_level_hash",
    "cord", "cord_internal", "cordz_info", "cordz_functions", "cordz_handle",
    "crc32c", "random_distributions", "random_seed_sequences",
    "random_internal_pool_urbg", "random_internal_randen",
    "random_internal_randen_hwaes", "random_internal_randen_hwaes_impl",
    "random_internal_randen_slow", "random_internal_platform",
    "random_internal_seed_material", "random_seed_gen_exception",
    "base", "spinlock_wait", "throw_delegate", "raw_logging_internal",
    "int128", "bad_optional_access", "bad_variant_access", "strerror",
    "stacktrace", "symbolize", "debugging_internal", "demangle_internal",
    "malloc_internal", "graphcycles_internal", "log_severity", "civil_time",
    "strings_internal", "exponential_biased",
]

def _system_libs_impl(ctx):
    lines = ['package(default_visibility = ["//visibility:public"])', ""]
    for name, (modules, fallback) in _LIBS.items():
        linkopts = fallback
        if modules:
            res = ctx.execute(["pkg-config", "--libs"] + modules)
            if res.return_code == 0 and res.stdout.strip():
                linkopts = res.stdout.strip().split(" ")
        lines.append("cc_library(")
        lines.append('    name = "%s",' % name)
        lines.append("    linkopts = %s," % repr(linkopts))
        lines.append(")")
        lines.append("")
    absl_opts = []
    for c in _ABSL:
        so = "/usr/lib/x86_64-linux-gnu/libabsl_%s.so" % c
        if ctx.path(so).exists:
            absl_opts.append("-labsl_" + c)
    lines.append("cc_library(")
    lines.append('    name = "absl",')
    lines.append("    linkopts = %s," % repr(absl_opts))
    lines.append(")")
    ctx.file("WORKSPACE", "")
    ctx.file("BUILD", "\n".join(lines) + "\n")

system_libs = repository_rule(
    implementation = _system_libs_impl,
    local = True,
)
