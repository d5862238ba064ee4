#!/usr/bin/env bash
# Drive the official OCI CLI against the lab's API Gateway control plane (tutorial Tasks 6-7).
#
# Env:
#   OCI_LAB_DIR                   folder written by hyok_oci::write_cli_config (`config`, key,
#                                 `env` exporting OCI_CLI_CONFIG_FILE, REQUESTS_CA_BUNDLE,
#                                 OCI_LAB_COMPARTMENT_ID, OCI_LAB_APIGATEWAY_ENDPOINT) and spec.json
#   OCI_LAB_SUBNET_ID             the spoke's private subnet
#   OCI_LAB_CERTIFICATE_ID        an ACTIVE RSA certificate in the Certificates service
#   OCI_LAB_ECDSA_CERTIFICATE_ID  an ACTIVE ECDSA certificate (must be refused)
#   OCI_LAB_CA_BUNDLE_ID          an ACTIVE CA bundle the gateway trusts for the backend
#   OCI_CLI                       the `oci` executable (default: oci on PATH)
# Gateway and deployment create/update/delete wait on the WORK REQUEST in CLI 3.95
# (--wait-for-state takes ACCEPTED|IN_PROGRESS|FAILED|SUCCEEDED|CANCELING|CANCELED, not ACTIVE),
# and then print the work request, whose resources[0].identifier is the new resource's OCID.
set -euo pipefail
: "${OCI_LAB_DIR:?set OCI_LAB_DIR to the lab CLI folder}"
# shellcheck disable=SC1091
source "$OCI_LAB_DIR/env"
OCI=${OCI_CLI:-oci}
EP=${OCI_LAB_APIGATEWAY_ENDPOINT:?env file must export OCI_LAB_APIGATEWAY_ENDPOINT}
: "${OCI_LAB_SUBNET_ID:?}" "${OCI_LAB_CERTIFICATE_ID:?}" "${OCI_LAB_ECDSA_CERTIFICATE_ID:?}" "${OCI_LAB_CA_BUNDLE_ID:?}"
PY=python3
if [ -x "$(dirname "$OCI")/python3" ]; then PY="$(dirname "$OCI")/python3"; fi
PREFIX=/api/v1/cckm/oci/ekm/v1
common=(--config-file "$OCI_CLI_CONFIG_FILE" --profile DEFAULT --endpoint "$EP")
wait_wr=(--wait-for-state SUCCEEDED --wait-for-state FAILED --wait-interval-seconds 1 --max-wait-seconds 60)

# field PATH: print data[PATH] where PATH is dot/index separated (e.g. resources.0.identifier).
field() {
  "$PY" -c '
import json, sys
d = json.load(sys.stdin)["data"]
for p in sys.argv[1].split("."):
    d = d[int(p)] if p.isdigit() else d[p]
print(d)' "$1"
}
fail() { echo "FAIL: $*" >&2; exit 1; }

echo "+ oci api-gateway gateway create"
wr=$("$OCI" api-gateway gateway create "${common[@]}" --compartment-id "$OCI_LAB_COMPARTMENT_ID" \
  --endpoint-type PRIVATE --subnet-id "$OCI_LAB_SUBNET_ID" --certificate-id "$OCI_LAB_CERTIFICATE_ID" \
  --ca-bundles "[{\"type\":\"CA_BUNDLE\",\"caBundleId\":\"$OCI_LAB_CA_BUNDLE_ID\"}]" \
  --display-name API-GW "${wait_wr[@]}")
[ "$(printf '%s' "$wr" | field status)" = SUCCEEDED ] || fail "gateway work request: $wr"
[ "$(printf '%s' "$wr" | field operation-type)" = CREATE_GATEWAY ] || fail "operation type: $wr"
gateway_id=$(printf '%s' "$wr" | field resources.0.identifier)
echo "gateway=$gateway_id"

echo "+ oci api-gateway gateway get"
gw=$("$OCI" api-gateway gateway get "${common[@]}" --gateway-id "$gateway_id")
[ "$(printf '%s' "$gw" | field lifecycle-state)" = ACTIVE ] || fail "gateway not ACTIVE: $gw"
[ "$(printf '%s' "$gw" | field ip-addresses.0.ip-address)" = 172.16.1.103 ] || fail "gateway IP: $gw"
[ "$(printf '%s' "$gw" | field display-name)" = API-GW ] || fail "display name: $gw"
hostname=$(printf '%s' "$gw" | field hostname)
echo "hostname=$hostname"

echo "+ oci api-gateway gateway create with an ECDSA certificate (must fail)"
set +e
bad=$("$OCI" api-gateway gateway create "${common[@]}" --compartment-id "$OCI_LAB_COMPARTMENT_ID" \
  --endpoint-type PRIVATE --subnet-id "$OCI_LAB_SUBNET_ID" --certificate-id "$OCI_LAB_ECDSA_CERTIFICATE_ID" \
  --display-name API-GW-EC 2>&1)
rc=$?
set -e
[ $rc -ne 0 ] || fail "ECDSA certificate was accepted"
printf '%s' "$bad" | grep -q '"code": "InvalidParameter"' || fail "expected InvalidParameter: $bad"
printf '%s' "$bad" | grep -q '"status": 400' || fail "expected status 400: $bad"
printf '%s' "$bad" | grep -q 'only accepts RSA' || fail "expected the RSA-only explanation: $bad"

echo "+ oci api-gateway deployment create"
wr=$("$OCI" api-gateway deployment create "${common[@]}" --compartment-id "$OCI_LAB_COMPARTMENT_ID" \
  --gateway-id "$gateway_id" --path-prefix "$PREFIX" --specification "file://$OCI_LAB_DIR/spec.json" \
  --display-name API-GW-DEPLOYMENT "${wait_wr[@]}")
[ "$(printf '%s' "$wr" | field status)" = SUCCEEDED ] || fail "deployment work request: $wr"
deployment_id=$(printf '%s' "$wr" | field resources.0.identifier)
echo "deployment=$deployment_id"

echo "+ oci api-gateway deployment get"
dep=$("$OCI" api-gateway deployment get "${common[@]}" --deployment-id "$deployment_id")
[ "$(printf '%s' "$dep" | field lifecycle-state)" = ACTIVE ] || fail "deployment not ACTIVE: $dep"
[ "$(printf '%s' "$dep" | field endpoint)" = "https://$hostname$PREFIX" ] || fail "endpoint: $dep"
[ "$(printf '%s' "$dep" | field specification.routes.0.path)" = "/{path*}" ] || fail "route: $dep"

echo "+ oci api-gateway deployment list"
list=$("$OCI" api-gateway deployment list "${common[@]}" --compartment-id "$OCI_LAB_COMPARTMENT_ID" \
  --gateway-id "$gateway_id" --all)
"$PY" -c 'import json,sys; items=json.load(sys.stdin)["data"]["items"]; sys.exit(0 if [i["id"] for i in items]==[sys.argv[1]] else 1)' "$deployment_id" <<<"$list" \
  || fail "deployment list: $list"

echo "CLI OK"
