#!/usr/bin/env bash
# Drive the official OCI CLI against the lab's Networking and DNS APIs: Task 5 (open the spoke
# A private subnet to itself) and Task 2 (attach the hub's private view to the spoke A resolver),
# plus a private view, zone and records of its own.
#
# Env:
#   OCI_LAB_DIR  folder written by hyok_oci::write_cli_config: `config`, `oci_api_key.pem`, `env`
#                (exports OCI_CLI_CONFIG_FILE, REQUESTS_CA_BUNDLE, OCI_LAB_COMPARTMENT_ID,
#                OCI_LAB_NETWORK_ENDPOINT, OCI_LAB_DNS_ENDPOINT)
#   OCI_LAB_SPOKE_VCN_ID, OCI_LAB_SPOKE_SECURITY_LIST_ID, OCI_LAB_SPOKE_RESOLVER_ID,
#   OCI_LAB_HUB_VIEW_ID   the world's objects
#   OCI_CLI      the `oci` executable (default: oci on PATH)
# Prints `view=<ocid>` and `zone=<ocid>` lines and finally `CLI OK`.
set -euo pipefail
: "${OCI_LAB_DIR:?set OCI_LAB_DIR to the lab CLI folder}"
# shellcheck disable=SC1091
source "$OCI_LAB_DIR/env"
OCI=${OCI_CLI:-oci}
NET=${OCI_LAB_NETWORK_ENDPOINT:?env file must export OCI_LAB_NETWORK_ENDPOINT}
DNS=${OCI_LAB_DNS_ENDPOINT:?env file must export OCI_LAB_DNS_ENDPOINT}
VCN=${OCI_LAB_SPOKE_VCN_ID:?}
SL=${OCI_LAB_SPOKE_SECURITY_LIST_ID:?}
RESOLVER=${OCI_LAB_SPOKE_RESOLVER_ID:?}
HUB_VIEW=${OCI_LAB_HUB_VIEW_ID:?}
PY=python3
if [ -x "$(dirname "$OCI")/python3" ]; then PY="$(dirname "$OCI")/python3"; fi
SUFFIX=${OCI_LAB_NAME_SUFFIX:-$$}
cfg=(--config-file "$OCI_CLI_CONFIG_FILE" --profile DEFAULT)
net=("${cfg[@]}" --endpoint "$NET")
dns=("${cfg[@]}" --endpoint "$DNS")

# Print a field of the CLI's JSON output: `field data.lifecycle-state`.
field() {
  "$PY" -c '
import json, sys
d = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    d = d[int(k)] if isinstance(d, list) else d[k]
print(d if not isinstance(d, (dict, list)) else json.dumps(d))' "$1"
}
fail() { echo "FAIL: $*" >&2; exit 1; }

echo "+ oci network vcn get"
vcn=$("$OCI" network vcn get "${net[@]}" --vcn-id "$VCN")
[ "$(printf '%s' "$vcn" | field data.lifecycle-state)" = AVAILABLE ] || fail "vcn get: $vcn"
[ "$(printf '%s' "$vcn" | field data.default-security-list-id)" = "$SL" ] || fail "default security list: $vcn"

echo "+ oci network security-list get"
sl=$("$OCI" network security-list get "${net[@]}" --security-list-id "$SL")
before=$(printf '%s' "$sl" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["data"]["ingress-security-rules"]))')

# The CLI prints rules in kebab-case but sends what it is given, so the rules are rebuilt in the
# API's camelCase: the existing ones plus Task 5's rule.
rules=$(printf '%s' "$sl" | "$PY" -c '
import json, sys
def camel(o):
    if isinstance(o, dict):
        return {k.split("-")[0] + "".join(w.title() for w in k.split("-")[1:]): camel(v) for k, v in o.items() if v is not None}
    if isinstance(o, list):
        return [camel(x) for x in o]
    return o
rules = camel(json.load(sys.stdin)["data"]["ingress-security-rules"])
rules.append({"source": "172.16.1.0/24", "sourceType": "CIDR_BLOCK", "protocol": "all", "isStateless": False,
              "description": "Task 5: all traffic inside the spoke A private subnet"})
print(json.dumps(rules))')

echo "+ oci network security-list update --ingress-security-rules (Task 5)"
upd=$("$OCI" network security-list update "${net[@]}" --security-list-id "$SL" \
  --ingress-security-rules "$rules" --force \
  --wait-for-state AVAILABLE --wait-interval-seconds 1 --max-wait-seconds 30)
after=$(printf '%s' "$upd" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["data"]["ingress-security-rules"]))')
[ "$after" -eq $((before + 1)) ] || fail "expected $((before + 1)) ingress rules, got $after: $upd"

echo "+ oci network security-list update (bad rule, must fail)"
set +e
bad=$("$OCI" network security-list update "${net[@]}" --security-list-id "$SL" \
  --ingress-security-rules '[{"source":"172.16.1.0/33","protocol":"all"}]' --force 2>&1)
rc=$?
set -e
[ $rc -ne 0 ] || fail "bad rule was accepted"
printf '%s' "$bad" | grep -q '"code": "InvalidParameter"' || fail "expected InvalidParameter: $bad"
printf '%s' "$bad" | grep -q 'ingressSecurityRules\[0\]' || fail "expected the rule index: $bad"

echo "+ oci dns view create"
view=$("$OCI" dns view create "${dns[@]}" -c "$OCI_LAB_COMPARTMENT_ID" --display-name "cli-view-$SUFFIX" \
  --scope PRIVATE --wait-for-state ACTIVE --wait-interval-seconds 1 --max-wait-seconds 30)
view_id=$(printf '%s' "$view" | field data.id)
echo "view=$view_id"

echo "+ oci dns view list"
views=$("$OCI" dns view list "${dns[@]}" -c "$OCI_LAB_COMPARTMENT_ID" --scope PRIVATE --all)
printf '%s' "$views" | grep -q "$view_id" || fail "view list lacks $view_id: $views"

echo "+ oci dns zone create --scope PRIVATE --view-id"
zone=$("$OCI" dns zone create "${dns[@]}" -c "$OCI_LAB_COMPARTMENT_ID" --name "cli-$SUFFIX.lab" \
  --zone-type PRIMARY --scope PRIVATE --view-id "$view_id" \
  --wait-for-state ACTIVE --wait-interval-seconds 1 --max-wait-seconds 30)
zone_id=$(printf '%s' "$zone" | field data.id)
[ "$(printf '%s' "$zone" | field data.lifecycle-state)" = ACTIVE ] || fail "zone not ACTIVE: $zone"
echo "zone=$zone_id"

echo "+ oci dns record zone patch --items"
patched=$("$OCI" dns record zone patch "${dns[@]}" --zone-name-or-id "cli-$SUFFIX.lab" --scope PRIVATE \
  --view-id "$view_id" \
  --items "[{\"domain\":\"gw.cli-$SUFFIX.lab\",\"rtype\":\"A\",\"rdata\":\"172.16.1.103\",\"ttl\":30,\"operation\":\"ADD\"}]")
[ "$(printf '%s' "$patched" | field data.items.0.rdata)" = 172.16.1.103 ] || fail "record patch: $patched"

echo "+ oci dns record zone get"
got=$("$OCI" dns record zone get "${dns[@]}" --zone-name-or-id "$zone_id" --scope PRIVATE)
[ "$(printf '%s' "$got" | field data.items.0.domain)" = "gw.cli-$SUFFIX.lab" ] || fail "record get: $got"

echo "+ oci dns resolver get"
res=$("$OCI" dns resolver get "${dns[@]}" --resolver-id "$RESOLVER" --scope PRIVATE)
[ "$(printf '%s' "$res" | field data.attached-vcn-id)" = "$VCN" ] || fail "resolver get: $res"

echo "+ oci dns resolver update --attached-views (Task 2) --wait-for-state ACTIVE"
start=$(date +%s)
res=$("$OCI" dns resolver update "${dns[@]}" --resolver-id "$RESOLVER" --scope PRIVATE \
  --attached-views "[{\"viewId\":\"$HUB_VIEW\"}]" --force \
  --wait-for-state ACTIVE --wait-interval-seconds 1 --max-wait-seconds 30)
end=$(date +%s)
[ "$(printf '%s' "$res" | field data.lifecycle-state)" = ACTIVE ] || fail "resolver not ACTIVE: $res"
[ "$(printf '%s' "$res" | field data.attached-views.0.view-id)" = "$HUB_VIEW" ] || fail "attached views: $res"
echo "resolver update + wait took $((end - start)) s"

echo "CLI OK"
