#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Load on digitc-serve: wrk (2 threads, 30 s) against POST /v1/classify
# with a digit PNG at several connection counts, then a soak run that
# samples the server's resident memory (VmRSS) every 10 s.
#
#   swift build -c release --product digitc-serve
#   bash bench/serve_load.sh                 # soak 300 s
#   SOAK=60 CONNECTIONS="16 64" bash bench/serve_load.sh
#
# Needs wrk (apt-get install wrk). Writes build/serve-bench/. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."

server=${DIGITC_SERVE:-.build/release/digitc-serve}
threads=${THREADS:-2}
connections=${CONNECTIONS:-16 32 64}
soak=${SOAK:-300}
out=build/serve-bench
mkdir -p "$out"

env -u OPENBLAS_CORETYPE "$server" --port 0 --threads "$threads" >"$out/server.log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "listening on" "$out/server.log" && break; sleep 0.1; done
url=$(grep -o 'http://[^ ]*' "$out/server.log" | head -1)
echo "server pid $pid at $url ($(head -1 "$out/server.log"))"

rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }

# A short warm-up so that the first run does not pay for first-touch pages.
wrk -t2 -c8 -d5s -s bench/classify.lua "${url}v1/classify" >/dev/null

for c in $connections; do
  echo "== wrk -t2 -c$c -d30s"
  wrk -t2 -c"$c" -d30s --latency -s bench/classify.lua "${url}v1/classify" | tee "$out/wrk-c$c.txt"
done

echo "== soak: wrk -t2 -c32 -d${soak}s, VmRSS (kB) every 10 s"
echo "seconds,vmrss_kb" >"$out/rss.csv"
wrk -t2 -c32 -d"${soak}s" --latency -s bench/classify.lua "${url}v1/classify" >"$out/wrk-soak.txt" &
load=$!
for ((t = 0; t <= soak; t += 10)); do
  echo "$t,$(rss)" >>"$out/rss.csv"
  [ "$t" -lt "$soak" ] && sleep 10
done
wait $load
cat "$out/wrk-soak.txt"
echo "$((soak + 1)),$(rss)" >>"$out/rss.csv"
awk -F, 'NR > 1 && $1 == 30 {a = $2} NR > 1 {b = $2} END {printf "VmRSS after 30 s: %d kB; at the end: %d kB (%+.1f%%)\n", a, b, (b - a) * 100 / a}' "$out/rss.csv"
