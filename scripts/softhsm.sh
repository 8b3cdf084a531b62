#!/usr/bin/env bash
# Installs SoftHSM2 (apt-get, when missing) and prepares a PKCS#11 token for the hsm package's
# tests: a token directory and softhsm2.conf of its own under ${SMDPP_SOFTHSM_DIR:-/tmp/smdpp-softhsm}
# and a token labelled "smdpp-test" with the test PINs below. Idempotent: an existing token is
# kept. Prints the environment the tests read; use it as:  eval "$(scripts/softhsm.sh)"
#
# The PINs are test values for a throwaway software token, never for a real HSM.
set -euo pipefail

STATE=${SMDPP_SOFTHSM_DIR:-/tmp/smdpp-softhsm}
TOKEN=smdpp-test
PIN=1234
SO_PIN=12345678
log() { echo "softhsm: $*" >&2; }

# module_path prints the first libsofthsm2.so found in Debian's (and other distributions') places.
module_path() {
  local p
  for p in /usr/lib/softhsm/libsofthsm2.so \
    /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
    /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so \
    /usr/lib/"$(uname -m)"-linux-gnu/softhsm/libsofthsm2.so \
    /usr/lib64/softhsm/libsofthsm2.so \
    /usr/lib64/pkcs11/libsofthsm2.so \
    /usr/local/lib/softhsm/libsofthsm2.so; do
    [ -f "$p" ] && { echo "$p"; return; }
  done
  # Last resort: ask dpkg where the package put it.
  if command -v dpkg >/dev/null 2>&1; then
    dpkg -L softhsm2-common libsofthsm2 2>/dev/null | grep -m1 '/libsofthsm2\.so$' || true
  fi
}

if ! command -v softhsm2-util >/dev/null 2>&1 || [ -z "$(module_path)" ]; then
  if [ "$(id -u)" != 0 ]; then log "SoftHSM2 is missing and not root: install softhsm2"; exit 1; fi
  log "installing softhsm2"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq softhsm2 >&2
fi
MODULE=$(module_path)
if [ -z "$MODULE" ]; then log "libsofthsm2.so not found after installing softhsm2"; exit 1; fi

mkdir -p "$STATE/tokens"
chmod 700 "$STATE" "$STATE/tokens"
CONF="$STATE/softhsm2.conf"
cat >"$CONF" <<EOF
# Written by scripts/softhsm.sh: a token store for tests only.
directories.tokendir = $STATE/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
export SOFTHSM2_CONF="$CONF"

if ! softhsm2-util --show-slots 2>/dev/null | grep -q "Label:[[:space:]]*$TOKEN[[:space:]]*$"; then
  softhsm2-util --init-token --free --label "$TOKEN" --pin "$PIN" --so-pin "$SO_PIN" >/dev/null
  log "initialised token $TOKEN in $STATE/tokens"
fi

echo "export SOFTHSM2_CONF='$CONF'"
echo "export SMDPP_TEST_PKCS11_MODULE='$MODULE'"
echo "export SMDPP_TEST_PKCS11_TOKEN='$TOKEN'"
echo "export SMDPP_TEST_PKCS11_PIN='$PIN'"
