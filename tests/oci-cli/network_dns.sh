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
# shellcheck source=tests/oci-cli/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NET=${OCI_LAB_NETWORK_ENDPOINT:?env file must export OCI_LAB_NETWORK_ENDPOINT}
DNS=${OCI_LAB_DNS_ENDPOINT:?env file must export OCI_LAB_DNS_ENDPOINT}
VCN=${OCI_LAB_SPOKE_VCN_ID:?}
SL=${OCI_LAB_SPOKE_SECURITY_LIST_ID:?}
RESOLVER=${OCI_LAB_SPOKE_RESOLVER_ID:?}
HUB_VIEW=${OCI_LAB_HUB_VIEW_ID:?}
SUFFIX=${OCI_LAB_NAME_SUFFIX:-$$}
cfg=(--config-file "$OCI_CLI_CONFIG_FILE" --profile DEFAULT)
net=("${cfg[@]}" --endpoint "$NET")
dns=("${cfg[@]}" --endpoint "$DNS")

echo "+ oci network vcn get"
vcn=$("$OCI" network vcn get "${net[@]}" --vcn-id "$VCN")
expect "$vcn" data.lifecycle-state AVAILABLE "vcn get"
expect "$vcn" data.default-security-list-id "$SL" "default security list"
rt=$(printf '%s' "$vcn" | field data.default-route-table-id)
case "$rt" in ocid1.routetable.*) ;; *) fail "vcn default-route-table-id: $vcn" ;; esac
case "$(printf '%s' "$vcn" | field data.default-dhcp-options-id)" in
  ocid1.dhcpoptions.*) ;; *) fail "vcn default-dhcp-options-id: $vcn" ;;
esac

echo "+ oci network subnet list (Subnet.routeTableId and virtualRouterMac are required)"
subnets=$("$OCI" network subnet list "${net[@]}" -c "$OCI_LAB_COMPARTMENT_ID" --vcn-id "$VCN" --all)
expect "$subnets" data.0.route-table-id "$rt" "subnet route table"
expect_in "$(printf '%s' "$subnets" | field data.0.virtual-router-mac)" '^00:00:17:' "the virtual router MAC"

echo "+ oci network route-table get (not modelled)"
must_fail "route-table get" "$OCI" network route-table get "${net[@]}" --rt-id "$rt"
expect_in "$bad" "is not modelled by the lab" "the lab's reason for route tables"

echo "+ oci dns resolver list (this region's VCNs only)"
resolvers=$("$OCI" dns resolver list "${dns[@]}" -c "$OCI_LAB_COMPARTMENT_ID" --scope PRIVATE --all)
for vcn_id in $(printf '%s' "$resolvers" | "$PY" -c 'import json,sys; print(" ".join(r["attached-vcn-id"] for r in json.load(sys.stdin)["data"]))'); do
  "$OCI" network vcn get "${net[@]}" --vcn-id "$vcn_id" >/dev/null || fail "resolver list shows VCN $vcn_id, unknown to Networking"
done
expect_in "$resolvers" "$RESOLVER" "the spoke's resolver in the list"

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
must_fail "bad rule" "$OCI" network security-list update "${net[@]}" --security-list-id "$SL" \
  --ingress-security-rules '[{"source":"172.16.1.0/33","protocol":"all"}]' --force
expect_in "$bad" '"code": "InvalidParameter"' "InvalidParameter"
expect_in "$bad" 'ingressSecurityRules\[0\]' "the rule index"

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
expect "$zone" data.lifecycle-state ACTIVE "zone not ACTIVE"
echo "zone=$zone_id"

echo "+ oci dns record zone patch --items"
patched=$("$OCI" dns record zone patch "${dns[@]}" --zone-name-or-id "cli-$SUFFIX.lab" --scope PRIVATE \
  --view-id "$view_id" \
  --items "[{\"domain\":\"gw.cli-$SUFFIX.lab\",\"rtype\":\"A\",\"rdata\":\"172.16.1.103\",\"ttl\":30,\"operation\":\"ADD\"}]")
expect "$patched" data.items.0.rdata 172.16.1.103 "record patch"

echo "+ oci dns record zone get"
got=$("$OCI" dns record zone get "${dns[@]}" --zone-name-or-id "$zone_id" --scope PRIVATE)
expect "$got" data.items.0.domain "gw.cli-$SUFFIX.lab" "record get"

echo "+ oci dns resolver get"
res=$("$OCI" dns resolver get "${dns[@]}" --resolver-id "$RESOLVER" --scope PRIVATE)
expect "$res" data.attached-vcn-id "$VCN" "resolver get"

echo "+ oci dns resolver update --attached-views (Task 2) --wait-for-state ACTIVE"
start=$(date +%s)
res=$("$OCI" dns resolver update "${dns[@]}" --resolver-id "$RESOLVER" --scope PRIVATE \
  --attached-views "[{\"viewId\":\"$HUB_VIEW\"}]" --force \
  --wait-for-state ACTIVE --wait-interval-seconds 1 --max-wait-seconds 30)
end=$(date +%s)
expect "$res" data.lifecycle-state ACTIVE "resolver not ACTIVE"
expect "$res" data.attached-views.0.view-id "$HUB_VIEW" "attached views"
echo "resolver update + wait took $((end - start)) s"

echo "CLI OK"
