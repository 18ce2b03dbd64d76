#!/usr/bin/env bash
# What building shoplens needs beyond Rust: protoc, which the Flight SQL server's Substrait
# dependency runs at build time (Debian's protobuf-compiler). Installed only if missing.
set -euo pipefail
if ! command -v protoc >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler >/dev/null
fi
