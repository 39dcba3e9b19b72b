#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the benchmarks need. Idempotent and quiet when all
# are present, so `make run` and `make test` call it first.
set -euo pipefail
packages=(
  g++ cmake ninja-build make pkg-config git
  # clang builds the tsan and fuzz presets (ThreadSanitizer, -Wthread-safety, libFuzzer); libclang-rt-dev holds
  # its sanitizer and libFuzzer runtimes, only a recommendation of clang's, which --no-install-recommends leaves out.
  clang libclang-rt-dev
  # lld links the test binaries (~190 MB each under ASan) about 3x faster than ld.bfd.
  lld
  libasio-dev libdeflate-dev libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev
  zlib1g-dev libjemalloc-dev libgtest-dev libgmock-dev googletest libbenchmark-dev
  nodejs
  # make deb: dpkg-shlibdeps derives the package's dependencies; systemd-analyze checks its unit files.
  dpkg-dev systemd
  # ACL: plain_acl.yml is YAML; request signatures are HMAC-SHA1 (OpenSSL).
  libyaml-cpp-dev libssl-dev
  # cpp-httplib: the Prometheus /metrics endpoints and thruster dashboard's HTTP server.
  libcpp-httplib-dev
  # prometheus (and its promtool) for the test that scrapes a broker; headless Chromium for the dashboard's test.
  prometheus chromium
  # TLS tests check what `openssl s_client` sees on the broker port.
  openssl
  # The 5.x gRPC endpoint (src/proxy): gRPC and protobuf, and protoc with its gRPC plugin to generate the C++.
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  # make bench-report draws the cost curves' CSVs as SVGs; fincore (util-linux) reports what a curve left cached.
  gnuplot-nox util-linux
  # Controller mode's elections run on etcd; tests/cluster starts its own.
  etcd-server
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm for the e2e tests' client; some nodejs builds bring their own npm, Debian's is a separate package.
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The .proto files of the gRPC endpoint come from the npm package rocketmq-client-nodejs (pinned by
# third_party/rocketmq-proto/package-lock.json); the build generates C++ from them.
proto_dir="$(cd "$(dirname "$0")/../third_party/rocketmq-proto" && pwd)"
if [ ! -f "$proto_dir/node_modules/rocketmq-client-nodejs/proto/apache/rocketmq/v2/service.proto" ] ||
  [ "$proto_dir/package-lock.json" -nt "$proto_dir/node_modules/.package-lock.json" ]; then
  echo "install-deps: npm ci in third_party/rocketmq-proto"
  (cd "$proto_dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
fi
