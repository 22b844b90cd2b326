#!/bin/sh
# The artifact may depend on nothing but libc, libstdc++, libm, libgcc_s and
# pthread (DESIGN §1), and the library may export only the C API (ds_*), so it
# can be dlopen'ed into a process with its own kernel library.
#   check_deps.sh LIB RUNNER
# DS_ALLOW_SANITIZER_RUNTIME=1 (a DS_SANITIZE build) also admits libasan/libubsan,
# which every instrumented binary needs.
set -eu
lib=$1 runner=$2
status=0
for f in "$lib" "$runner"; do
  deps=$(ldd "$f") || { echo "$f: ldd failed"; exit 1; }
  echo "$deps" | while read -r line; do
    case "$line" in
      libasan.so.*|libubsan.so.*)
        [ "${DS_ALLOW_SANITIZER_RUNTIME:-}" = 1 ] || { echo "$f: sanitizer runtime in a normal build: $line"; exit 1; } ;;
      linux-vdso.so*|*/ld-linux*|ld-linux*|libc.so.*|libm.so.*|libstdc++.so.*|libgcc_s.so.*|libpthread.so.*|libdl.so.*|librt.so.*|libds_model.so*) ;;
      *) echo "$f: unexpected dependency: $line"; exit 1 ;;
    esac
  done || status=1
  if echo "$deps" | grep -Eiq 'mlir|protobuf|onnx|python|libz\.|not found'; then
    echo "$f: forbidden dependency:"; echo "$deps"; status=1
  fi
done
exported=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^ds_' || true)
if [ -n "$exported" ]; then
  echo "$lib: exports symbols other than ds_*:"; echo "$exported" | head -20; status=1
fi
count=$(nm -D --defined-only "$lib" | grep -c ' ds_' || true)
[ "$count" -ge 10 ] || { echo "$lib: exports only $count ds_* symbols"; status=1; }
[ $status -eq 0 ] && echo "ok: $lib and $runner depend only on the C/C++ runtime; $count ds_* exports"
exit $status
