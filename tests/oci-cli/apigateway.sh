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
# shellcheck source=tests/oci-cli/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
EP=${OCI_LAB_APIGATEWAY_ENDPOINT:?env file must export OCI_LAB_APIGATEWAY_ENDPOINT}
: "${OCI_LAB_SUBNET_ID:?}" "${OCI_LAB_CERTIFICATE_ID:?}" "${OCI_LAB_ECDSA_CERTIFICATE_ID:?}" "${OCI_LAB_CA_BUNDLE_ID:?}"
PREFIX=/api/v1/cckm/oci/ekm/v1
common=(--config-file "$OCI_CLI_CONFIG_FILE" --profile DEFAULT --endpoint "$EP")
wait_wr=(--wait-for-state SUCCEEDED --wait-for-state FAILED --wait-interval-seconds 1 --max-wait-seconds 60)

echo "+ oci api-gateway gateway create"
wr=$("$OCI" api-gateway gateway create "${common[@]}" --compartment-id "$OCI_LAB_COMPARTMENT_ID" \
  --endpoint-type PRIVATE --subnet-id "$OCI_LAB_SUBNET_ID" --certificate-id "$OCI_LAB_CERTIFICATE_ID" \
  --ca-bundles "[{\"type\":\"CA_BUNDLE\",\"caBundleId\":\"$OCI_LAB_CA_BUNDLE_ID\"}]" \
  --display-name API-GW "${wait_wr[@]}")
expect "$wr" data.status SUCCEEDED "gateway work request"
expect "$wr" data.operation-type CREATE_GATEWAY "operation type"
gateway_id=$(printf '%s' "$wr" | field data.resources.0.identifier)
gateway_wr=$(printf '%s' "$wr" | field data.id)
echo "gateway=$gateway_id"

echo "+ oci api-gateway gateway get"
gw=$("$OCI" api-gateway gateway get "${common[@]}" --gateway-id "$gateway_id")
expect "$gw" data.lifecycle-state ACTIVE "gateway not ACTIVE"
expect "$gw" data.ip-addresses.0.ip-address 172.16.1.103 "gateway IP"
expect "$gw" data.display-name API-GW "display name"
hostname=$(printf '%s' "$gw" | field data.hostname)
echo "hostname=$hostname"

echo "+ oci api-gateway gateway create with an ECDSA certificate (must fail)"
must_fail "ECDSA certificate" "$OCI" api-gateway gateway create "${common[@]}" --compartment-id "$OCI_LAB_COMPARTMENT_ID" \
  --endpoint-type PRIVATE --subnet-id "$OCI_LAB_SUBNET_ID" --certificate-id "$OCI_LAB_ECDSA_CERTIFICATE_ID" \
  --display-name API-GW-EC
expect_in "$bad" '"code": "InvalidParameter"' "InvalidParameter"
expect_in "$bad" '"status": 400' "status 400"
expect_in "$bad" 'only accepts RSA' "the RSA-only explanation"

echo "+ oci api-gateway deployment create"
wr=$("$OCI" api-gateway deployment create "${common[@]}" --compartment-id "$OCI_LAB_COMPARTMENT_ID" \
  --gateway-id "$gateway_id" --path-prefix "$PREFIX" --specification "file://$OCI_LAB_DIR/spec.json" \
  --display-name API-GW-DEPLOYMENT "${wait_wr[@]}")
expect "$wr" data.status SUCCEEDED "deployment work request"
deployment_id=$(printf '%s' "$wr" | field data.resources.0.identifier)
echo "deployment=$deployment_id"

echo "+ oci api-gateway deployment get"
dep=$("$OCI" api-gateway deployment get "${common[@]}" --deployment-id "$deployment_id")
expect "$dep" data.lifecycle-state ACTIVE "deployment not ACTIVE"
expect "$dep" data.endpoint "https://$hostname$PREFIX" "endpoint"
expect "$dep" data.specification.routes.0.path "/{path*}" "route"

echo "+ oci api-gateway deployment list"
list=$("$OCI" api-gateway deployment list "${common[@]}" --compartment-id "$OCI_LAB_COMPARTMENT_ID" \
  --gateway-id "$gateway_id" --all)
"$PY" -c 'import json,sys; items=json.load(sys.stdin)["data"]["items"]; sys.exit(0 if [i["id"] for i in items]==[sys.argv[1]] else 1)' "$deployment_id" <<<"$list" \
  || fail "deployment list: $list"

echo "+ oci api-gateway work-request list"
wrs=$("$OCI" api-gateway work-request list "${common[@]}" --compartment-id "$OCI_LAB_COMPARTMENT_ID" \
  --resource-id "$gateway_id" --all)
expect "$wrs" data.items.0.work-request-id "$gateway_wr" "work request list (WorkRequestSummary.workRequestId)"
expect "$wrs" data.items.0.operation-type CREATE_GATEWAY "work request operation"
expect "$wrs" data.items.0.status SUCCEEDED "work request status"

echo "CLI OK"
