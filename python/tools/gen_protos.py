#!/usr/bin/env python3
"""Generates the SDK's protobuf and gRPC modules (python/baton/v1/*_pb2*.py) from api/baton/v1.

The generated modules are committed so that `pip install ./python` needs no protoc, and
this script keeps them honest: `--check` regenerates into a temporary directory and fails
when anything differs from what is committed (ctest runs it as `python_protos_up_to_date`).

They are made with Debian 12's protoc 3.21 and grpc_python_plugin 1.51 (packages
protobuf-compiler and protobuf-compiler-grpc), so they need protobuf >= 3.20 (4.21 in
Python's numbering is the same release) and grpcio >= 1.51 at run time.

Usage: gen_protos.py [--check] [--protoc PATH] [--plugin PATH]
"""

import argparse
import filecmp
import glob
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_DIR = os.path.dirname(HERE)
ROOT = os.path.dirname(PYTHON_DIR)
API_DIR = os.path.join(ROOT, "api")
OUT_PACKAGE = os.path.join(PYTHON_DIR, "baton", "v1")
# What protoc writes per proto: messages, their type stubs, and the gRPC stubs.
SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def generate(out_dir, protoc, plugin):
    protos = sorted(glob.glob(os.path.join(API_DIR, "baton", "v1", "*.proto")))
    if not protos:
        sys.exit(f"gen_protos: no .proto files under {API_DIR}/baton/v1")
    cmd = [protoc, f"--proto_path={API_DIR}", f"--python_out={out_dir}",
           f"--pyi_out={out_dir}", f"--grpc_python_out={out_dir}",
           f"--plugin=protoc-gen-grpc_python={plugin}", *protos]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"gen_protos: {' '.join(cmd)} failed:\n{r.stderr}")
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(out_dir, "baton", "v1", "*"))
                  if p.endswith(SUFFIXES))


def committed():
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(OUT_PACKAGE, "*"))
                  if p.endswith(SUFFIXES))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true",
                    help="fail if the committed modules differ from freshly generated ones")
    ap.add_argument("--protoc", default=shutil.which("protoc") or "protoc")
    ap.add_argument("--plugin", default=shutil.which("grpc_python_plugin") or "grpc_python_plugin")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(tmp, args.protoc, args.plugin)
        gen_dir = os.path.join(tmp, "baton", "v1")
        if args.check:
            stale = sorted(set(fresh) ^ set(committed()))
            stale += [f for f in fresh if f not in stale and not filecmp.cmp(
                os.path.join(gen_dir, f), os.path.join(OUT_PACKAGE, f), shallow=False)]
            if stale:
                print("gen_protos: python/baton/v1 is out of date with api/baton/v1 "
                      f"({', '.join(stale)}); run python/tools/gen_protos.py and commit",
                      file=sys.stderr)
                return 1
            print(f"gen_protos: {len(fresh)} generated modules are up to date")
            return 0
        for old in committed():
            os.remove(os.path.join(OUT_PACKAGE, old))
        for f in fresh:
            shutil.copyfile(os.path.join(gen_dir, f), os.path.join(OUT_PACKAGE, f))
        print(f"gen_protos: wrote {len(fresh)} modules to {os.path.relpath(OUT_PACKAGE, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
