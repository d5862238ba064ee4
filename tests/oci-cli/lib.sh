# Shared by the scripts in this folder; sourced right after `set -euo pipefail`.
#
# Needs OCI_LAB_DIR (the folder written by hyok_oci_rest::write_cli_config); sources its `env`
# file and sets OCI (the `oci` executable: OCI_CLI, default oci on PATH) and PY (the CLI's own
# python3 when it has one).
: "${OCI_LAB_DIR:?set OCI_LAB_DIR to the lab CLI folder}"
# shellcheck disable=SC1091
source "$OCI_LAB_DIR/env"
OCI=${OCI_CLI:-oci}
PY=python3
if [ -x "$(dirname "$OCI")/python3" ]; then PY="$(dirname "$OCI")/python3"; fi

# field PATH: print a field of the CLI's JSON output on stdin. PATH is dot separated from the
# top, with list indexes as numbers (e.g. data.resources.0.identifier); objects and lists are
# printed as JSON.
field() {
  "$PY" -c '
import json, sys
d = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    d = d[int(k)] if isinstance(d, list) else d[k]
print(d if not isinstance(d, (dict, list)) else json.dumps(d))' "$1"
}

fail() { echo "FAIL: $*" >&2; exit 1; }

# expect JSON PATH VALUE WHAT: fail with WHAT unless `field PATH` of JSON is VALUE.
expect() { [ "$(printf '%s' "$1" | field "$2")" = "$3" ] || fail "$4: $1"; }

# must_fail WHAT CMD...: run CMD, which must fail; its output (stdout and stderr) is left in $bad.
must_fail() {
  local what=$1
  shift
  if bad=$("$@" 2>&1); then fail "$what was accepted"; fi
}

# expect_in TEXT PATTERN WHAT: fail unless TEXT matches the grep PATTERN.
expect_in() { printf '%s' "$1" | grep -q -- "$2" || fail "expected $3: $1"; }
