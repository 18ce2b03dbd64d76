#!/usr/bin/env bash
# Every API answer of two builds, compared byte for byte: both serve the same generated shops and
# answer the same requests (every path the NEW build's OpenAPI document lists, with each parameter
# it documents, one at a time and together, and a refusal per parameter). Prints the answers that
# differ and exits 1 if any does; requests the old build does not know (new paths) are listed apart.
#
#   scripts/api_diff.sh OLD_BIN NEW_BIN
set -euo pipefail
old=$1 new=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
here=$(dirname "$0")
# the new build's document, from a throwaway server on a free port
python3 -c "
import json, subprocess, sys, tempfile, os, time
sys.path.insert(0, '$here')
import api_snapshot as a
wh = tempfile.mkdtemp()
subprocess.run(['$new', 'generate', '--orders', '50', '--out', wh + '/s'], check=True, stdout=subprocess.DEVNULL)
subprocess.run(['$new', 'import', wh + '/s', '--warehouse', wh + '/w'], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
port = a.free_port()
p = subprocess.Popen(['$new', 'serve', '--warehouse', wh + '/w', '--addr', f'127.0.0.1:{port}'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(600):
        try:
            if a.get(f'http://127.0.0.1:{port}', '/healthz', {})[0] == 200: break
        except OSError: time.sleep(0.1)
    open('$work/spec.json', 'wb').write(a.get(f'http://127.0.0.1:{port}', '/api/openapi.json', {})[1])
finally:
    p.terminate(); p.wait()
"
python3 "$here/api_snapshot.py" "$old" "$work/old" "$work/spec.json"
python3 "$here/api_snapshot.py" "$new" "$work/new" "$work/spec.json"
total=$(find "$work/new" -type f | wc -l)
# an answer the old build refuses as an unknown path is a new path, not a change
changed=0
for f in $(cd "$work/new" && find . -type f | sort); do
  if ! cmp -s "$work/old/$f" "$work/new/$f"; then
    if head -c 3 "$work/old/$f" | grep -q '^404' && grep -q 'no such path' "$work/old/$f"; then
      echo "new path: $f"
    else
      echo "DIFFERS: $f"
      changed=$((changed + 1))
    fi
  fi
done
echo "api-diff: $total answers compared, $changed differ"
[ "$changed" -eq 0 ]
