"""Loads the Python modules generated from proto/runnel/v1.

Generated code is never committed. The modules are looked up in:
  - $RUNNEL_PY_GEN when set (Bazel tests point it at the genrule's output);
  - otherwise client/python/gen/, which gen_protos.sh fills on first import
    and again whenever a .proto is newer than what was generated.

The generated modules import each other as `proto.runnel.v1.X_pb2` (the
protos' import paths), so the generated tree's root goes on sys.path.
"""

import importlib
import os
import shutil
import subprocess
import sys
import tempfile

try:
    import grpc  # noqa: F401  (checked here so the error says what to install)
    import google.protobuf  # noqa: F401
except ImportError as e:  # pragma: no cover - depends on the machine
    raise ImportError(
        "runnel needs Debian's python3-grpcio and python3-protobuf "
        "(apt-get install python3-grpcio python3-protobuf) and the python3 "
        "they belong to (/usr/bin/python3); this interpreter is %s: %s"
        % (sys.executable, e)
    ) from e

_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_REPO_ROOT = os.path.dirname(os.path.dirname(_PACKAGE_ROOT))
_PROTO_DIR = os.path.join(_REPO_ROOT, "proto", "runnel", "v1")
_MODULES = ("types", "broker", "admin", "groups")


def _generated_is_stale(out_dir):
    """True when a generated module is missing or older than its .proto."""
    if not os.path.isdir(_PROTO_DIR):
        return False  # installed without the protos: use what is there
    for name in _MODULES:
        src = os.path.join(_PROTO_DIR, name + ".proto")
        for suffix in ("_pb2.py", "_pb2_grpc.py"):
            gen = os.path.join(out_dir, "proto", "runnel", "v1", name + suffix)
            if not os.path.exists(gen) or os.path.getmtime(gen) < os.path.getmtime(src):
                return True
    return False


def _gen_dir():
    env = os.environ.get("RUNNEL_PY_GEN")
    if env:
        return env
    out = os.path.join(_PACKAGE_ROOT, "gen")
    if _generated_is_stale(out):
        # Generate beside the target and move the files into place, so that
        # programs starting at the same time never import a half-written one.
        tmp = tempfile.mkdtemp(prefix=".gen-", dir=_PACKAGE_ROOT)
        try:
            script = os.path.join(_PACKAGE_ROOT, "gen_protos.sh")
            result = subprocess.run(
                [script, tmp, _REPO_ROOT], stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            if result.returncode != 0:
                raise ImportError(
                    "runnel: generating the gRPC modules failed: "
                    + result.stderr.decode(errors="replace").strip()
                )
            for dirpath, _, files in os.walk(tmp):
                target = os.path.join(out, os.path.relpath(dirpath, tmp))
                os.makedirs(target, exist_ok=True)
                for name in files:
                    os.replace(os.path.join(dirpath, name), os.path.join(target, name))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return out


_dir = _gen_dir()
if _dir not in sys.path:
    sys.path.insert(0, _dir)


def _load(name):
    try:
        return importlib.import_module("proto.runnel.v1." + name)
    except ImportError as e:
        raise ImportError(
            "runnel: cannot import generated module %s from %s (run "
            "client/python/gen_protos.sh OUT_DIR and set RUNNEL_PY_GEN=OUT_DIR): %s"
            % (name, _dir, e)
        ) from e


types_pb2 = _load("types_pb2")
broker_pb2 = _load("broker_pb2")
broker_grpc = _load("broker_pb2_grpc")
admin_pb2 = _load("admin_pb2")
admin_grpc = _load("admin_pb2_grpc")
groups_pb2 = _load("groups_pb2")
groups_grpc = _load("groups_pb2_grpc")
