#!/bin/sh
# AWS_LAMBDA_EXEC_WRAPPER of the Lambdas that move an object's bytes (serverless.yml). Lambda starts the
# runtime as `<this script> /var/lang/bin/node <the runtime's own node options> /var/runtime/index.mjs`;
# this runs exactly that, with the V8 flags below in front. NODE_OPTIONS cannot carry them (Node allows
# only a few V8 flags there, and the runtime's own --max-semi-space-size/--max-old-space-size win anyway).
#
# --initial-heap-size=128 (the local runner's flag too: local/runner/node-flags.json): every byte read from
# S3 arrives in socket buffers that V8 counts as external memory; with the small heap a process starts
# with, and the large young generation the runtime configures, V8 ran a full mark-compact every ~20 MiB
# read (a third to a half of the hash loop's CPU): BENCHMARKS.md, the whole-file hash, with and without it.
node="$1"
shift
exec "$node" --initial-heap-size=128 "$@"
