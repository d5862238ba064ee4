#!/usr/bin/env python3
"""Conformance of the lab's OCI services as the official `oci` Python SDK sees them.

For every public operation of the SDK clients the tutorial touches, call it through the SDK
against a provisioned lab and check what the SDK makes of the answer:

- an operation the lab serves: the response type the SDK declares (a bare JSON array for
  `list[X]`, an object with `items` for `XCollection`), every `**[Required]**` field of the model
  present (recursively), no `UNKNOWN_ENUM_VALUE`, datetimes that parse, `opc-request-id` on every
  response, `etag` where the resource has an `if_match` operation, and `opc-next-page` paging
  through `oci.pagination.list_call_get_all_results`;
- an operation the lab does not serve: called with dummy ids (always safe: it must be refused),
  it must answer a JSON OCI error (status >= 400, `code` and `message`, `opc-request-id`) whose
  message says the lab does not model it.

The operations are enumerated from the SDK client classes, so nothing is forgotten; the lab's
answer to each one is written to a JSON report, and `--markdown` writes docs/conformance.md.

Usage:
    conformance.py --lab DIR [--failed-lab DIR ...] --report OUT.json
                   [--markdown OUT.md --known-gaps known-gaps.txt]

`--lab` is a lab provisioned by the tutorial scenario (to Task 18): every operation is exercised
there, including safe creates/updates/deletes of scratch resources. Each `--failed-lab` is a
lab provisioned by a misconfiguration scenario: only the reads run there, to check the failed
states (lifecycle enums) the SDK shows. Needs only the `oci` SDK and the standard library.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import inspect
import json
import os
import re
import sys
import time
import traceback
from urllib.parse import urlparse

import oci
from oci._vendor import requests  # the SDK's own (vendored) requests

DUMMY_ID = "ocid1.conformance.oc1..aaaaaaaanotarealresourceconformance"
NOT_MODELLED = re.compile(r"not\s+(be\s+)?model(l)?ed|does\s+not\s+model|is\s+not\s+modell?ed", re.I)


# --------------------------------------------------------------------------------------------
# The clients in scope and the operations the lab serves
# --------------------------------------------------------------------------------------------

def vcn_subnet_security_list(op: str) -> bool:
    return any(k in op for k in ("vcn", "subnet", "security_list"))


# name, SDK class, where its endpoint comes from, which of its operations are in scope,
# the operations the lab serves (everything else in scope must be refused as not modelled).
CLIENTS = [
    ("VirtualNetworkClient", oci.core.VirtualNetworkClient, "oci-iaas", vcn_subnet_security_list, {
        "list_vcns", "get_vcn", "get_vcn_dns_resolver_association",
        "list_subnets", "get_subnet",
        "list_security_lists", "get_security_list", "update_security_list",
    }),
    ("DnsClient", oci.dns.DnsClient, "oci-dns", None, {
        "list_resolvers", "get_resolver", "update_resolver",
        "list_views", "get_view", "create_view", "update_view", "delete_view",
        "list_zones", "get_zone", "create_zone", "delete_zone",
        "get_zone_records", "patch_zone_records", "update_zone_records",
        "get_domain_records", "get_rr_set",
    }),
    ("CertificatesManagementClient", oci.certificates_management.CertificatesManagementClient,
     "oci-certificates", None, {
        "list_ca_bundles", "get_ca_bundle", "create_ca_bundle", "delete_ca_bundle",
        "list_certificates", "get_certificate", "create_certificate",
    }),
    ("ApiGatewayClient", oci.apigateway.ApiGatewayClient, "oci-apigateway", None, set()),
    ("GatewayClient", oci.apigateway.GatewayClient, "oci-apigateway", None, {
        "list_gateways", "get_gateway", "create_gateway", "update_gateway", "delete_gateway",
    }),
    ("DeploymentClient", oci.apigateway.DeploymentClient, "oci-apigateway", None, {
        "list_deployments", "get_deployment", "create_deployment", "update_deployment",
        "delete_deployment",
    }),
    ("WorkRequestsClient", oci.apigateway.WorkRequestsClient, "oci-apigateway", None, {
        "list_work_requests", "get_work_request", "list_work_request_errors",
        "list_work_request_logs",
    }),
    ("EkmClient", oci.key_management.EkmClient, "oci-kms", None, {
        "list_ekms_private_endpoints", "get_ekms_private_endpoint", "create_ekms_private_endpoint",
        "update_ekms_private_endpoint", "delete_ekms_private_endpoint",
    }),
    ("KmsVaultClient", oci.key_management.KmsVaultClient, "oci-kms", None, {
        "list_vaults", "get_vault", "create_vault",
    }),
    ("KmsManagementClient", oci.key_management.KmsManagementClient, "vault-management", None, {
        "list_keys", "get_key", "create_key", "enable_key", "disable_key",
        "list_key_versions", "get_key_version", "create_key_version",
    }),
    ("KmsCryptoClient", oci.key_management.KmsCryptoClient, "vault-crypto", None, {
        "encrypt", "decrypt", "generate_data_encryption_key",
    }),
    ("ObjectStorageClient", oci.object_storage.ObjectStorageClient, "oci-objectstorage", None, {
        "get_namespace", "get_namespace_metadata",
        "list_buckets", "get_bucket", "head_bucket", "create_bucket", "delete_bucket",
        "list_objects", "put_object", "get_object", "head_object", "delete_object",
    }),
]


def operations(cls, scope) -> list[str]:
    ops = sorted(
        m for m, _ in inspect.getmembers(cls, inspect.isfunction)
        if not m.startswith("_")
    )
    return [o for o in ops if scope is None or scope(o)]


def op_source(cls, op: str) -> str:
    try:
        return inspect.getsource(getattr(cls, op))
    except (OSError, TypeError):
        return ""


def declared_response_type(cls, op: str) -> str | None:
    m = re.search(r'response_type="([^"]+)"', op_source(cls, op))
    return m.group(1) if m else None


def accepts_if_match(cls, op: str) -> bool:
    src = op_source(cls, op)
    m = re.search(r"expected_kwargs = \[(.*?)\]", src, re.S)
    return bool(m and '"if_match"' in m.group(1))


def expects_etag(cls, op: str) -> bool:
    """OCI returns an etag on get/create/update of a resource that has if-match operations."""
    m = re.match(r"(get|create|update)_(.+)$", op)
    if not m:
        return False
    noun = m.group(2)
    return any(
        o.endswith("_" + noun) and accepts_if_match(cls, o)
        for o in operations(cls, None)
    )


# --------------------------------------------------------------------------------------------
# Capturing the raw answer the SDK got
# --------------------------------------------------------------------------------------------

class Raw:
    last: dict | None = None


_orig_request = requests.Session.request


def _recording_request(self, method, url, *args, **kwargs):
    resp = _orig_request(self, method, url, *args, **kwargs)
    entry = {"method": method, "path": urlparse(url).path, "status": resp.status_code,
             "headers": dict(resp.headers), "body": None}
    ctype = resp.headers.get("content-type", "")
    if not kwargs.get("stream") or resp.status_code >= 400 or "json" in ctype:
        try:
            entry["body"] = resp.content.decode("utf-8", "replace")
        except Exception:  # noqa: BLE001 - a body we cannot read is recorded as absent
            entry["body"] = None
    Raw.last = entry
    return resp


requests.Session.request = _recording_request


def sanitize(text: str) -> str:
    text = re.sub(r"ocid1\.[a-z0-9_-]+\.[a-z0-9_-]*\.[a-z0-9_-]*\.[A-Za-z0-9_.-]+", "<ocid>", text)
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", text)
    text = re.sub(r"\b[a-z0-9]{20,}\b", "<id>", text)
    return text[:300]


# --------------------------------------------------------------------------------------------
# Checks on what the SDK made of an answer
# --------------------------------------------------------------------------------------------

def required_attrs(model) -> set[str]:
    out = set()
    for attr in getattr(model, "swagger_types", {}):
        prop = getattr(type(model), attr, None)
        doc = getattr(getattr(prop, "fget", None), "__doc__", "") or ""
        if "**[Required]**" in doc:
            out.add(attr)
    return out


# Fields the SDK models as optional that OCI always returns (what the tutorial and tools read).
ALWAYS_RETURNED = {
    "Vcn": ("default_route_table_id", "default_dhcp_options_id", "default_security_list_id"),
    "Subnet": ("dhcp_options_id", "security_list_ids"),
}


def check_model(value, path: str, problems: list[str], depth: int = 0) -> None:
    if depth > 8 or value is None:
        return
    if isinstance(value, list):
        for i, v in enumerate(value[:50]):
            check_model(v, f"{path}[{i}]", problems, depth + 1)
        return
    if isinstance(value, dict):
        for k, v in list(value.items())[:50]:
            check_model(v, f"{path}.{k}", problems, depth + 1)
        return
    if isinstance(value, str) and value == "UNKNOWN_ENUM_VALUE":
        problems.append(f"{path} is UNKNOWN_ENUM_VALUE (the lab sent a value outside the SDK's enum)")
        return
    types = getattr(value, "swagger_types", None)
    if types is None:
        return
    name = type(value).__name__
    attr_map = getattr(value, "attribute_map", {})
    for attr in sorted(required_attrs(value)):
        if getattr(value, attr, None) is None:
            problems.append(f"{name}.{attr_map.get(attr, attr)} (required) is missing")
    for attr in ALWAYS_RETURNED.get(name, ()):
        if getattr(value, attr, None) is None:
            problems.append(f"{name}.{attr_map.get(attr, attr)} is missing (OCI always returns it)")
    for attr, t in types.items():
        v = getattr(value, attr, None)
        if v is None:
            continue
        if t == "datetime" and not isinstance(v, datetime.datetime):
            problems.append(f"{name}.{attr_map.get(attr, attr)} is not a datetime: {v!r}")
        elif isinstance(v, str) and v == "UNKNOWN_ENUM_VALUE":
            problems.append(f"{name}.{attr_map.get(attr, attr)} is UNKNOWN_ENUM_VALUE")
        elif not isinstance(v, (str, int, float, bool, bytes, datetime.datetime, datetime.date)):
            check_model(v, f"{name}.{attr_map.get(attr, attr)}", problems, depth + 1)


def check_shape(declared: str | None, raw: dict | None, problems: list[str]) -> None:
    if not declared or declared in ("stream", "str") or raw is None or raw["body"] is None:
        return
    try:
        body = json.loads(raw["body"]) if raw["body"].strip() else None
    except ValueError:
        problems.append(f"declared {declared} but the body is not JSON")
        return
    if declared.startswith("list["):
        if not isinstance(body, list):
            kind = "an object with " + ", ".join(sorted(body)[:3]) if isinstance(body, dict) else type(body).__name__
            problems.append(f"declared {declared} (a bare JSON array) but the lab answered {kind}")
    elif declared.startswith("dict("):
        if not isinstance(body, dict):
            problems.append(f"declared {declared} but the body is not a JSON object")
    elif declared not in ("object",):
        model = getattr_model(declared)
        if model is not None and "items" in getattr(model, "attribute_map", {}):
            if not (isinstance(body, dict) and isinstance(body.get("items"), list)):
                problems.append(f"declared {declared} (an object with `items`) but the lab answered {type(body).__name__}")
        elif not isinstance(body, dict):
            problems.append(f"declared {declared} (a JSON object) but the lab answered {type(body).__name__}")


_MODEL_INDEX: dict[str, type] = {}


def getattr_model(name: str):
    if not _MODEL_INDEX:
        for modname in ("core", "dns", "certificates_management", "apigateway", "key_management",
                        "object_storage"):
            mod = getattr(oci, modname).models
            for k in dir(mod):
                _MODEL_INDEX.setdefault(k, getattr(mod, k))
    return _MODEL_INDEX.get(name)


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------

class Op:
    def __init__(self, client: str, name: str, served: bool):
        self.client, self.name, self.served = client, name, served
        self.tested = False
        self.problems: list[str] = []
        self.notes: list[str] = []
        self.calls: list[str] = []
        self.labs: list[str] = []

    def to_json(self):
        if self.served:
            status = "served" if not self.problems else "nonconforming"
        else:
            status = "refused-as-not-modelled" if not self.problems else "nonconforming"
        return {
            "served": self.served, "status": status, "tested": self.tested,
            "problems": collapse(self.problems), "notes": collapse(self.notes),
            "calls": sorted(set(self.calls)), "labs": sorted(set(self.labs)),
        }


def collapse(texts: list[str]) -> list[str]:
    """Distinct texts; a `[lab] text` seen on the tutorial lab too is kept once, untagged."""
    plain = set(t for t in texts if not t.startswith("["))
    return sorted(set(t for t in texts if re.sub(r"^\[[^]]+\] ", "", t) not in plain or t in plain))


class Expected(Exception):
    """A case could not go on (the reason is already recorded)."""


class Ctx:
    def __init__(self, lab_dir: str, label: str, reads_only: bool, report: dict):
        self.lab_dir, self.label, self.reads_only, self.report = lab_dir, label, reads_only, report
        with open(os.path.join(lab_dir, "lab.json")) as f:
            self.info = json.load(f)
        self.config = oci.config.from_file(os.path.join(lab_dir, "oci", "config"), "DEFAULT")
        self.ca = os.path.join(lab_dir, self.info["ca"]["bundle"])
        os.environ["REQUESTS_CA_BUNDLE"] = self.ca
        self.compartment = self.info["credentials"]["oci"]["compartment"]
        self.clients: dict[str, object] = {}
        self.suffix = f"{os.getpid()}-{int(time.time()) % 100000}"

    # -- endpoints and clients ------------------------------------------------------------
    def service_url(self, name: str) -> str:
        for s in self.info["services"]:
            if s["name"] == name:
                return s["url"]
        raise KeyError(f"no service {name} in lab.json")

    def url_for_host(self, url: str) -> str:
        """The host URL of a lab endpoint given by its real URL (a vault's endpoints)."""
        host = urlparse(url).hostname
        self.reload_info()
        for s in self.info["services"]:
            if s["host"] == host:
                return s["url"]
        raise KeyError(f"no service for host {host} in lab.json")

    def reload_info(self):
        with open(os.path.join(self.lab_dir, "lab.json")) as f:
            self.info = json.load(f)

    def client(self, name: str, endpoint: str | None = None):
        key = (name, endpoint)
        if key in self.clients:
            return self.clients[key]
        entry = next(c for c in CLIENTS if c[0] == name)
        if endpoint is None:
            endpoint = self.service_url(entry[2])
        c = entry[1](self.config, service_endpoint=endpoint,
                     retry_strategy=oci.retry.NoneRetryStrategy(),
                     circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
                     timeout=(5, 30))
        c.base_client.session.verify = self.ca
        self.clients[key] = c
        return c

    def op(self, client: str, name: str) -> Op:
        return self.report[client][name]

    # -- calling --------------------------------------------------------------------------
    def call(self, client_name: str, op: str, *args, _client=None, _paged=False, **kwargs):
        """Call a served operation and check the answer; raise Expected when it failed."""
        entry = self.op(client_name, op)
        entry.tested = True
        entry.labs.append(self.label)
        c = _client or self.client(client_name)
        cls = type(c)
        Raw.last = None
        try:
            resp = getattr(c, op)(*args, **kwargs)
        except oci.exceptions.ServiceError as e:
            raw = Raw.last or {}
            entry.problems.append(self.tag(f"answered {e.status} {e.code}: {sanitize(str(e.message))}"))
            entry.calls.append(f"{raw.get('method')} {sanitize(raw.get('path') or '')} -> {e.status}")
            raise Expected() from e
        except Exception as e:  # noqa: BLE001 - the SDK could not read the answer
            entry.problems.append(self.tag(f"the SDK failed on the answer: {type(e).__name__}: {sanitize(str(e))}"))
            raise Expected() from e
        raw = Raw.last
        if raw:
            entry.calls.append(f"{raw['method']} {sanitize(raw['path'])} -> {raw['status']}")
        problems: list[str] = []
        if not resp.headers.get("opc-request-id"):
            problems.append("no opc-request-id header")
        declared = declared_response_type(cls, op)
        check_shape(declared, raw, problems)
        check_model(resp.data, declared or "data", problems)
        if resp.data is not None and expects_etag(cls, op) and not resp.headers.get("etag"):
            problems.append("no etag header (the resource has if-match operations)")
        for p in problems:
            entry.problems.append(self.tag(p))
        return resp

    def page(self, client_name: str, op: str, *args, ident=lambda x: x.id, **kwargs):
        """A list operation, unpaged and then paged by one through list_call_get_all_results."""
        resp = self.call(client_name, op, *args, **kwargs)
        c = self.client(client_name) if "_client" not in kwargs else kwargs.pop("_client")
        items = resp.data if isinstance(resp.data, list) else getattr(resp.data, "items", None) or []
        entry = self.op(client_name, op)
        # What the lab sent, item by item: lets the suite go on (get by id) past a list the SDK
        # cannot read (a gap already recorded by the shape check).
        raw = Raw.last or {}
        try:
            body = json.loads(raw.get("body") or "null")
        except ValueError:
            body = None
        raw_items = body if isinstance(body, list) else (body or {}).get("items") if isinstance(body, dict) else None
        self.last_raw_items = raw_items if isinstance(raw_items, list) else []
        declared = declared_response_type(type(c), op) or ""
        if declared.startswith("list[") and not isinstance(body, list) and isinstance(raw_items, list):
            items = c.base_client.deserialize_response_data(json.dumps(raw_items).encode(), declared)
            entry.notes.append(self.tag("paging not checked (the list is not in the declared shape)"))
            return items
        if len(items) < 2:
            entry.notes.append(self.tag("paging not exercised (fewer than 2 items)"))
            return items
        kw = {k: v for k, v in kwargs.items() if not k.startswith("_")}
        try:
            first = getattr(c, op)(*args, limit=1, **kw)
            if not first.headers.get("opc-next-page"):
                entry.problems.append(self.tag("limit=1 with more items answered no opc-next-page"))
            allp = oci.pagination.list_call_get_all_results(getattr(c, op), *args, limit=1, **kw)
            data = allp.data if isinstance(allp.data, list) else allp.data.items
            got = [ident(x) for x in data]
            want = [ident(x) for x in items]
            if sorted(map(str, got)) != sorted(map(str, want)):
                entry.problems.append(self.tag(
                    f"paging by 1 gave {len(got)} items, unpaged {len(want)} (or other items)"))
            else:
                entry.notes.append(self.tag(f"paging checked ({len(want)} items)"))
        except oci.exceptions.ServiceError as e:
            entry.problems.append(self.tag(f"paging answered {e.status} {e.code}: {sanitize(str(e.message))}"))
        return items

    def expect_error(self, client_name: str, op: str, *args, status=(400, 404, 409), _client=None, **kwargs):
        """A served operation called to fail (bad input): a JSON OCI error is the conforming answer."""
        entry = self.op(client_name, op)
        entry.tested = True
        entry.labs.append(self.label)
        c = _client or self.client(client_name)
        Raw.last = None
        try:
            getattr(c, op)(*args, **kwargs)
        except oci.exceptions.ServiceError as e:
            raw = Raw.last or {}
            entry.calls.append(f"{raw.get('method')} {sanitize(raw.get('path') or '')} -> {e.status} (error path)")
            for p in error_shape_problems(e, raw):
                entry.problems.append(self.tag(p))
            if e.status not in status:
                entry.problems.append(self.tag(f"answered {e.status} {e.code} where {status} was expected"))
            elif NOT_MODELLED.search(str(e.message or "")):
                entry.problems.append(self.tag(f"says it is not modelled: {sanitize(str(e.message))}"))
            return e
        except Exception as e:  # noqa: BLE001
            entry.problems.append(self.tag(f"the SDK failed: {type(e).__name__}: {sanitize(str(e))}"))
            return None
        entry.problems.append(self.tag("accepted an input it should refuse"))
        return None

    def note(self, client_name: str, op: str, text: str):
        self.op(client_name, op).notes.append(self.tag(text))

    def tag(self, text: str) -> str:
        return text if self.label == "tutorial" else f"[{self.label}] {text}"

    def wait(self, fn, ok, what: str, timeout=20.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = fn()
            if ok(last):
                return last
            time.sleep(0.2)
        raise RuntimeError(f"timed out waiting for {what}")


def error_shape_problems(e: oci.exceptions.ServiceError, raw: dict) -> list[str]:
    problems = []
    body = raw.get("body")
    ctype = (raw.get("headers") or {}).get("content-type", (raw.get("headers") or {}).get("Content-Type", ""))
    if not body or not body.strip():
        problems.append(f"{e.status} with an empty body (no JSON OCI error)")
    else:
        try:
            j = json.loads(body)
            if not (isinstance(j, dict) and isinstance(j.get("code"), str) and isinstance(j.get("message"), str)):
                problems.append(f"{e.status} JSON without code and message: {sanitize(body)}")
        except ValueError:
            problems.append(f"{e.status} with a non-JSON body ({ctype or 'no content-type'}): {sanitize(body)}")
    if not e.request_id and not (raw.get("headers") or {}).get("opc-request-id"):
        problems.append("error without opc-request-id")
    return problems


# --------------------------------------------------------------------------------------------
# Not-served operations: dummy arguments, which must be refused
# --------------------------------------------------------------------------------------------

def dummy_args(cls, op: str, ctx: Ctx) -> list:
    sig = inspect.signature(getattr(cls, op))
    args = []
    for p in list(sig.parameters.values())[1:]:
        if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        n = p.name
        if n == "namespace_name":
            args.append(ctx.namespace or "conformance")
        elif n.endswith("_id") or n in ("id",):
            args.append(DUMMY_ID)
        elif n.endswith("_details") and ("file" in op or "zone_file" in n):
            args.append(b"conformance")
        elif n.endswith("_details") or n in ("body",):
            args.append({})
        elif n.endswith("_body"):
            args.append(b"conformance")
        elif n.endswith("_num") or n.endswith("_number") or n in ("limit",):
            args.append(1)
        elif n == "rtype":
            args.append("A")
        elif n == "zone_name_or_id":
            args.append("no-such-zone.conformance.test")
        elif n == "domain":
            args.append("x.no-such-zone.conformance.test")
        elif n in ("scope",):
            args.append("PRIVATE")
        else:
            args.append("conformance-no-such-" + n.replace("_", "-"))
    return args


def probe_not_served(ctx: Ctx, client_name: str, op: str, client) -> None:
    entry = ctx.op(client_name, op)
    cls = type(client)
    try:
        args = dummy_args(cls, op, ctx)
    except (TypeError, ValueError) as e:
        entry.notes.append(f"not called: {e}")
        return
    entry.tested = True
    entry.labs.append(ctx.label)
    Raw.last = None
    try:
        getattr(client, op)(*args)
    except oci.exceptions.ServiceError as e:
        raw = Raw.last or {}
        entry.calls.append(f"{raw.get('method')} {sanitize(raw.get('path') or '')} -> {e.status}")
        problems = error_shape_problems(e, raw)
        if not problems and not NOT_MODELLED.search(str(e.message or "")):
            problems.append(f"answered {e.status} {e.code} \"{sanitize(str(e.message))}\", which does not say the lab does not model it")
        entry.problems.extend(problems)
        return
    except (ValueError, TypeError) as e:
        # The SDK refused the dummy arguments before sending anything.
        entry.tested = False
        entry.notes.append(f"not sent: the SDK refused the dummy arguments ({sanitize(str(e))})")
        return
    except Exception as e:  # noqa: BLE001
        entry.problems.append(f"the SDK failed: {type(e).__name__}: {sanitize(str(e))}")
        return
    raw = Raw.last or {}
    entry.calls.append(f"{raw.get('method')} {sanitize(raw.get('path') or '')} -> {raw.get('status')}")
    entry.problems.append(f"answered {raw.get('status')} to dummy arguments: the lab serves it but the suite has no case for it")


# --------------------------------------------------------------------------------------------
# The cases: what the lab serves, with inputs from the provisioned lab
# --------------------------------------------------------------------------------------------

def guard(fn):
    """Run one case; an unexpected exception is recorded (the rest of the suite goes on)."""
    def wrapped(ctx: Ctx, *a):
        try:
            return fn(ctx, *a)
        except Expected:
            return None
        except Exception as e:  # noqa: BLE001
            ctx.errors.append(f"[{ctx.label}] {fn.__name__}: {type(e).__name__}: {e}\n{traceback.format_exc()}")
            return None
    wrapped.__name__ = fn.__name__
    return wrapped


@guard
def case_network(ctx: Ctx):
    C = ctx.compartment
    N = "VirtualNetworkClient"
    vcns = ctx.page(N, "list_vcns", C)
    for v in vcns:
        ctx.call(N, "get_vcn", v.id)
        ctx.call(N, "get_vcn_dns_resolver_association", v.id)
    subnets = ctx.page(N, "list_subnets", C)
    for s in subnets:
        ctx.call(N, "get_subnet", s.id)
    sls = ctx.page(N, "list_security_lists", C)
    for sl in sls:
        ctx.call(N, "get_security_list", sl.id)
    if ctx.reads_only or not sls:
        return
    # A no-op update (the same rules back), guarded by the etag.
    sl = sls[0]
    got = ctx.call(N, "get_security_list", sl.id)
    ctx.call(N, "update_security_list", sl.id, oci.core.models.UpdateSecurityListDetails(
        ingress_security_rules=got.data.ingress_security_rules,
        egress_security_rules=got.data.egress_security_rules),
        if_match=got.headers.get("etag"))


@guard
def case_dns(ctx: Ctx):
    C = ctx.compartment
    N = "DnsClient"
    resolvers = ctx.page(N, "list_resolvers", C, scope="PRIVATE")
    for r in resolvers:
        ctx.call(N, "get_resolver", r.id, scope="PRIVATE")
        # The VCN a resolver belongs to is one this region's Networking knows.
        if getattr(r, "attached_vcn_id", None):
            try:
                ctx.client("VirtualNetworkClient").get_vcn(r.attached_vcn_id)
            except oci.exceptions.ServiceError as e:
                ctx.op(N, "list_resolvers").problems.append(ctx.tag(
                    f"lists a resolver of a VCN that this region's Networking answers {e.status} {e.code} for"))
    views = ctx.page(N, "list_views", C, scope="PRIVATE")
    for v in views:
        ctx.call(N, "get_view", v.id, scope="PRIVATE")
        zones = ctx.page(N, "list_zones", compartment_id=C, scope="PRIVATE", view_id=v.id)
        for z in zones:
            ctx.call(N, "get_zone", z.id, scope="PRIVATE")
            ctx.page(N, "get_zone_records", z.id, scope="PRIVATE", ident=lambda r: (r.domain, r.rtype, r.rdata))
    if ctx.reads_only:
        return
    if resolvers:
        r = ctx.call(N, "get_resolver", resolvers[0].id, scope="PRIVATE").data
        ctx.call(N, "update_resolver", r.id, oci.dns.models.UpdateResolverDetails(
            attached_views=[oci.dns.models.AttachedViewDetails(view_id=a.view_id) for a in (r.attached_views or [])]),
            scope="PRIVATE")
    # A scratch view and zone: create, read, change, delete.
    view = ctx.call(N, "create_view", oci.dns.models.CreateViewDetails(
        compartment_id=C, display_name=f"conformance-{ctx.suffix}"), scope="PRIVATE").data
    try:
        ctx.wait(lambda: ctx.client(N).get_view(view.id, scope="PRIVATE").data,
                 lambda v: v.lifecycle_state == "ACTIVE", "the scratch view")
        ctx.call(N, "update_view", view.id, oci.dns.models.UpdateViewDetails(
            display_name=f"conformance-{ctx.suffix}-renamed"), scope="PRIVATE")
        zone_name = f"conformance-{ctx.suffix}.test"
        zone = ctx.call(N, "create_zone", oci.dns.models.CreateZoneDetails(
            name=zone_name, compartment_id=C, zone_type="PRIMARY", scope="PRIVATE", view_id=view.id),
            scope="PRIVATE").data
        ctx.wait(lambda: ctx.client(N).get_zone(zone.id, scope="PRIVATE").data,
                 lambda z: z.lifecycle_state == "ACTIVE", "the scratch zone")
        ctx.call(N, "patch_zone_records", zone.id, oci.dns.models.PatchZoneRecordsDetails(items=[
            oci.dns.models.RecordOperation(domain=f"a.{zone_name}", rtype="A", rdata="10.0.0.1", ttl=60, operation="ADD"),
            oci.dns.models.RecordOperation(domain=f"b.{zone_name}", rtype="A", rdata="10.0.0.2", ttl=60, operation="ADD"),
        ]), scope="PRIVATE")
        recs = ctx.page(N, "get_zone_records", zone.id, scope="PRIVATE", ident=lambda r: (r.domain, r.rtype, r.rdata))
        ctx.call(N, "get_domain_records", zone.id, f"a.{zone_name}", scope="PRIVATE")
        ctx.call(N, "get_rr_set", zone.id, f"a.{zone_name}", "A", scope="PRIVATE")
        ctx.call(N, "update_zone_records", zone.id, oci.dns.models.UpdateZoneRecordsDetails(items=[
            oci.dns.models.RecordDetails(domain=r.domain, rtype=r.rtype, rdata=r.rdata, ttl=r.ttl)
            for r in recs if r.rtype == "A"]), scope="PRIVATE")
        ctx.call(N, "delete_zone", zone.id, scope="PRIVATE")
        try:
            ctx.wait(lambda: ctx.client(N).get_zone(zone.id, scope="PRIVATE").data,
                     lambda z: z.lifecycle_state == "DELETED", "the scratch zone deleted", timeout=10)
        except oci.exceptions.ServiceError:
            pass
    finally:
        try:
            ctx.call(N, "delete_view", view.id, scope="PRIVATE")
        except Expected:
            pass


@guard
def case_certificates(ctx: Ctx):
    C = ctx.compartment
    N = "CertificatesManagementClient"
    b = None
    if not ctx.reads_only:
        # A scratch CA bundle first, so that the list has two rows to page through.
        with open(os.path.join(ctx.lab_dir, ctx.info["ca"]["public_root"])) as f:
            pem = f.read()
        b = ctx.call(N, "create_ca_bundle", oci.certificates_management.models.CreateCaBundleDetails(
            name=f"conformance-{ctx.suffix}", compartment_id=C, ca_bundle_pem=pem)).data
        ctx.wait(lambda: ctx.client(N).get_ca_bundle(b.id).data, lambda x: x.lifecycle_state == "ACTIVE", "the CA bundle")
    for bundle in ctx.page(N, "list_ca_bundles", compartment_id=C):
        ctx.call(N, "get_ca_bundle", bundle.id)
    for cert in ctx.page(N, "list_certificates", compartment_id=C):
        ctx.call(N, "get_certificate", cert.id)
    if b is None:
        return
    ctx.call(N, "delete_ca_bundle", b.id)
    ctx.expect_error(N, "create_certificate", oci.certificates_management.models.CreateCertificateDetails(
        name=f"conformance-bad-{ctx.suffix}", compartment_id=C,
        certificate_config=oci.certificates_management.models.CreateCertificateByImportingConfigDetails(
            cert_chain_pem="not a pem", certificate_pem="not a pem", private_key_pem="not a pem")),
        status=(400,))


@guard
def case_apigateway_reads(ctx: Ctx):
    C = ctx.compartment
    for g in ctx.page("GatewayClient", "list_gateways", C):
        ctx.call("GatewayClient", "get_gateway", g.id)
    for d in ctx.page("DeploymentClient", "list_deployments", C):
        ctx.call("DeploymentClient", "get_deployment", d.id)
    W = "WorkRequestsClient"
    summaries = ctx.page(W, "list_work_requests", C, ident=lambda w: w.work_request_id)
    raw_ids = [r.get("workRequestId") or r.get("id") for r in ctx.last_raw_items]
    for w, raw_id in zip(summaries, raw_ids):
        wid = w.work_request_id or raw_id
        if not wid:
            continue
        ctx.call(W, "get_work_request", wid)
        ctx.page(W, "list_work_request_errors", wid, ident=lambda e: (e.code, e.message))
        ctx.page(W, "list_work_request_logs", wid, ident=lambda e: (e.message, str(e.timestamp)))


@guard
def case_apigateway_writes(ctx: Ctx):
    C = ctx.compartment
    G, D, W = "GatewayClient", "DeploymentClient", "WorkRequestsClient"
    ctx.expect_error(G, "create_gateway", oci.apigateway.models.CreateGatewayDetails(
        compartment_id=C, endpoint_type="PRIVATE", subnet_id=DUMMY_ID), status=(400, 404))
    ctx.expect_error(G, "delete_gateway", DUMMY_ID, status=(404,))
    ctx.expect_error(D, "create_deployment", oci.apigateway.models.CreateDeploymentDetails(
        compartment_id=C, gateway_id=DUMMY_ID, path_prefix="/conformance",
        specification=oci.apigateway.models.ApiSpecification(routes=[])), status=(400, 404))
    ctx.expect_error(D, "delete_deployment", DUMMY_ID, status=(404,))
    # No-op updates (the same display name) of the tutorial's gateway and deployment: each is
    # a work request that must succeed and leave the chain as it was.
    gws = ctx.client(G).list_gateways(C).data.items
    deps = ctx.client(D).list_deployments(C).data.items
    for op, client, rid, details in (
        [("update_gateway", G, g.id, oci.apigateway.models.UpdateGatewayDetails(display_name=g.display_name)) for g in gws[:1]]
        + [("update_deployment", D, d.id, oci.apigateway.models.UpdateDeploymentDetails(display_name=d.display_name)) for d in deps[:1]]
    ):
        resp = ctx.call(client, op, rid, details)
        wr = resp.headers.get("opc-work-request-id")
        if not wr:
            ctx.op(client, op).problems.append("no opc-work-request-id header")
            continue
        done = ctx.wait(lambda: ctx.client(W).get_work_request(wr).data,
                        lambda x: x.status in ("SUCCEEDED", "FAILED", "CANCELED"), f"the {op} work request")
        if done.status != "SUCCEEDED":
            ctx.op(client, op).problems.append(f"the no-op update's work request ended {done.status}")


@guard
def case_kms_reads(ctx: Ctx):
    C = ctx.compartment
    E, V, M, K = "EkmClient", "KmsVaultClient", "KmsManagementClient", "KmsCryptoClient"
    ctx.pes = []
    for pe in ctx.page(E, "list_ekms_private_endpoints", C):
        ctx.pes.append(ctx.call(E, "get_ekms_private_endpoint", pe.id).data)
    vaults = ctx.page(V, "list_vaults", C)
    ctx.vault = None
    for v in vaults:
        vid = getattr(v, "id", None)
        if not vid:
            continue
        vault = ctx.call(V, "get_vault", vid).data
        if vault.lifecycle_state == "ACTIVE" and ctx.vault is None:
            ctx.vault = vault
    if not vaults:
        ctx.note(V, "list_vaults", "no vault in the lab")
    if ctx.vault is None:
        return
    try:
        mgmt = ctx.client(M, ctx.url_for_host(ctx.vault.management_endpoint))
        crypto = ctx.client(K, ctx.url_for_host(ctx.vault.crypto_endpoint))
    except KeyError as e:
        ctx.errors.append(f"[{ctx.label}] the vault's endpoints: {e}")
        return
    ctx.mgmt, ctx.crypto = mgmt, crypto
    keys = ctx.page(M, "list_keys", C, _client=mgmt)
    ctx.key = None
    for k in keys:
        kid = getattr(k, "id", None)
        if not kid:
            continue
        key = ctx.call(M, "get_key", kid, _client=mgmt).data
        if key.lifecycle_state == "ENABLED" and ctx.key is None:
            ctx.key = key
        for kv in ctx.page(M, "list_key_versions", kid, _client=mgmt):
            if getattr(kv, "id", None):
                ctx.call(M, "get_key_version", kid, kv.id, _client=mgmt)
    if ctx.key is None:
        return
    key = ctx.key
    pt = base64.b64encode(b"conformance").decode()
    enc = ctx.call(K, "encrypt", oci.key_management.models.EncryptDataDetails(key_id=key.id, plaintext=pt), _client=crypto)
    if enc and enc.data.ciphertext:
        dec = ctx.call(K, "decrypt", oci.key_management.models.DecryptDataDetails(
            key_id=key.id, ciphertext=enc.data.ciphertext), _client=crypto)
        if dec.data.plaintext != pt:
            ctx.op(K, "decrypt").problems.append(ctx.tag("decrypt did not give the plaintext back"))
    ctx.call(K, "generate_data_encryption_key", oci.key_management.models.GenerateKeyDetails(
        key_id=key.id, include_plaintext_key=True,
        key_shape=oci.key_management.models.KeyShape(algorithm="AES", length=32)), _client=crypto)


@guard
def case_kms_writes(ctx: Ctx):
    C = ctx.compartment
    E, V, M = "EkmClient", "KmsVaultClient", "KmsManagementClient"
    pes = getattr(ctx, "pes", [])
    if pes:
        pe = pes[0]
        ctx.call(E, "update_ekms_private_endpoint", pe.id,
                 oci.key_management.models.UpdateEkmsPrivateEndpointDetails(display_name=pe.display_name))
    ctx.expect_error(E, "create_ekms_private_endpoint", oci.key_management.models.CreateEkmsPrivateEndpointDetails(
        compartment_id=C, subnet_id=DUMMY_ID, display_name=f"conformance-{ctx.suffix}",
        external_key_manager_ip="10.0.0.1", ca_bundle="not a pem"), status=(400, 404))
    ctx.expect_error(E, "delete_ekms_private_endpoint", DUMMY_ID, status=(404,))
    ctx.expect_error(V, "create_vault", oci.key_management.models.CreateVaultDetails(
        compartment_id=C, display_name=f"conformance-{ctx.suffix}", vault_type="EXTERNAL",
        external_key_manager_metadata=oci.key_management.models.ExternalKeyManagerMetadata(
            external_vault_endpoint_url="https://172.16.1.103/conformance", private_endpoint_id=DUMMY_ID,
            oauth_metadata=oci.key_management.models.OauthMetadata(
                idcs_account_name_url="https://idcs-x.identity.oraclecloud.com", client_app_id="x",
                client_app_secret="x"))), status=(400, 404))
    mgmt = getattr(ctx, "mgmt", None)
    key = getattr(ctx, "key", None)
    if mgmt is None or key is None:
        return
    # OCI accepts a key reference (CREATING) and checks the external key afterwards: this one
    # names no key of the key manager, so it ends failed; the suite reads only the create answer.
    ctx.call(M, "create_key", oci.key_management.models.CreateKeyDetails(
        compartment_id=C, display_name=f"conformance-{ctx.suffix}", protection_mode="EXTERNAL",
        key_shape=oci.key_management.models.KeyShape(algorithm="AES", length=32),
        external_key_reference=oci.key_management.models.ExternalKeyReference(
            external_key_id="conformance-no-such-external-key")), _client=mgmt)
    ctx.expect_error(M, "create_key_version", DUMMY_ID, status=(400, 404), _client=mgmt)
    # Disable and enable the tutorial's key reference (as Task 18 blocks and unblocks it).
    ctx.call(M, "disable_key", key.id, _client=mgmt)
    ctx.wait(lambda: mgmt.get_key(key.id).data, lambda k: k.lifecycle_state == "DISABLED", "the key DISABLED")
    ctx.call(M, "enable_key", key.id, _client=mgmt)
    ctx.wait(lambda: mgmt.get_key(key.id).data, lambda k: k.lifecycle_state == "ENABLED", "the key ENABLED")


@guard
def case_objectstorage(ctx: Ctx):
    C = ctx.compartment
    N = "ObjectStorageClient"
    ns = ctx.call(N, "get_namespace").data
    ctx.namespace = ns
    ctx.call(N, "get_namespace_metadata", ns)
    buckets = ctx.page(N, "list_buckets", ns, C, ident=lambda b: b.name)
    for b in buckets:
        ctx.call(N, "get_bucket", ns, b.name)
        ctx.call(N, "head_bucket", ns, b.name)
        objs = ctx.call(N, "list_objects", ns, b.name).data.objects or []
        for o in objs[:2]:
            ctx.call(N, "head_object", ns, b.name, o.name)
            got = ctx.call(N, "get_object", ns, b.name, o.name)
            got.data.content  # noqa: B018 - read the object through the SDK
    if ctx.reads_only:
        return
    name = f"conformance-{ctx.suffix}"
    ctx.call(N, "create_bucket", ns, oci.object_storage.models.CreateBucketDetails(name=name, compartment_id=C))
    try:
        for i in range(3):
            ctx.call(N, "put_object", ns, name, f"obj-{i}", f"conformance {i}".encode())
        try:
            listed = oci.pagination.list_call_get_all_results(ctx.client(N).list_objects, ns, name, limit=1).data.objects
        except oci.exceptions.ServiceError as e:
            ctx.op(N, "list_objects").problems.append(f"paging answered {e.status} {e.code}: {sanitize(str(e.message))}")
            listed = []
        if sorted(o.name for o in listed) != ["obj-0", "obj-1", "obj-2"]:
            ctx.op(N, "list_objects").problems.append("paging by 1 (next_start_with) did not give the 3 objects")
        else:
            ctx.note(N, "list_objects", "paging checked (3 objects)")
        ctx.call(N, "list_objects", ns, name)
        ctx.call(N, "head_object", ns, name, "obj-0")
        body = ctx.call(N, "get_object", ns, name, "obj-0").data.content
        if body != b"conformance 0":
            ctx.op(N, "get_object").problems.append("get_object did not give the object back")
        for i in range(3):
            ctx.call(N, "delete_object", ns, name, f"obj-{i}")
    finally:
        try:
            ctx.call(N, "delete_bucket", ns, name)
        except Expected:
            pass


# --------------------------------------------------------------------------------------------

def run_lab(lab_dir: str, label: str, reads_only: bool, report: dict, errors: list[str]) -> None:
    ctx = Ctx(lab_dir, label, reads_only, report)
    ctx.errors = errors
    ctx.namespace = None
    case_objectstorage(ctx)
    case_network(ctx)
    case_dns(ctx)
    case_certificates(ctx)
    case_apigateway_reads(ctx)
    case_kms_reads(ctx)
    if reads_only:
        return
    # The not-served operations: dummy arguments on each client's own endpoint (a vault's
    # management and crypto endpoints for the vault-scoped clients).
    for name, cls, where, scope, served in CLIENTS:
        if where == "vault-management":
            client = getattr(ctx, "mgmt", None)
        elif where == "vault-crypto":
            client = getattr(ctx, "crypto", None)
        else:
            client = ctx.client(name)
        for op in operations(cls, scope):
            if op in served:
                continue
            if client is None:
                ctx.op(name, op).notes.append("not called: the lab has no ACTIVE vault")
                continue
            probe_not_served(ctx, name, op, client)
    case_kms_writes(ctx)
    case_apigateway_writes(ctx)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lab", required=True, help="lab dir provisioned by the tutorial scenario")
    ap.add_argument("--failed-lab", action="append", default=[], metavar="LABEL=DIR",
                    help="lab dir provisioned by a misconfiguration scenario (reads only)")
    ap.add_argument("--report", required=True)
    ap.add_argument("--markdown")
    ap.add_argument("--known-gaps")
    a = ap.parse_args()

    report = {name: {op: Op(name, op, op in served) for op in operations(cls, scope)}
              for name, cls, _, scope, served in CLIENTS}
    for name, _, _, _, served in CLIENTS:
        missing = served - set(report[name])
        if missing:
            print(f"conformance.py: {name} has no operations {sorted(missing)}", file=sys.stderr)
            return 2
    errors: list[str] = []
    t0 = time.monotonic()
    run_lab(a.lab, "tutorial", False, report, errors)
    for spec in a.failed_lab:
        label, _, d = spec.partition("=")
        run_lab(d, label, True, report, errors)

    for name, ops in report.items():
        for op in ops.values():
            if op.served and not op.tested:
                op.notes.append("not tested: no input for it in the provisioned lab")
    out = {
        "schema": "hyok-lab/conformance/v1",
        "sdk": {"oci": oci.__version__},
        "seconds": round(time.monotonic() - t0, 1),
        "errors": errors,
        "clients": {
            name: {
                "service": where,
                "operations": {op: e.to_json() for op, e in report[name].items()},
            } for name, _, where, _, _ in CLIENTS
        },
    }
    with open(a.report, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
    if a.markdown:
        gaps = read_known_gaps(a.known_gaps) if a.known_gaps else {}
        with open(a.markdown, "w") as f:
            f.write(markdown(out, gaps))
    for e in errors:
        print(e, file=sys.stderr)
    return 0


def read_known_gaps(path: str) -> dict[str, str]:
    gaps = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, _, reason = line.partition(":")
            gaps[key.strip()] = reason.strip()
    return gaps


def markdown(out: dict, gaps: dict[str, str]) -> str:
    lines = [
        "# Conformance with the official OCI SDK",
        "",
        "Generated by `cargo test -p hyok-e2e --test e2e conformance` from",
        "`tests/conformance/conformance.py`, which calls every operation of the SDK clients the",
        f"tutorial touches through the official `oci` Python SDK ({out['sdk']['oci']}) against a lab",
        "provisioned by the tutorial scenario (and reads again on labs provisioned by",
        "misconfiguration scenarios, for the failed states). Do not edit by hand.",
        "",
        "- **served**: the lab serves it and the SDK reads its answer as the SDK declares it (response",
        "  type, required fields, enums, datetimes, `opc-request-id`, `etag`, paging).",
        "- **not modelled**: not served; the lab refuses it with a JSON OCI error saying it does not",
        "  model it.",
        "- **gap**: a known difference (`tests/conformance/known-gaps.txt`), being fixed.",
        "- **tested**: the suite called it (served operations: with inputs from the provisioned lab;",
        "  not-modelled ones: with dummy ids, which the lab must refuse).",
        "",
    ]
    summary = []
    for name, c in out["clients"].items():
        ops = c["operations"]
        served = sum(1 for o in ops.values() if o["served"])
        gap = sum(1 for k in ops if f"{name}.{k}" in gaps)
        summary.append(f"| {name} | {len(ops)} | {served} | {len(ops) - served} | {gap} |")
    lines += ["| client | operations | served | not served | gaps |", "|---|---|---|---|---|", *summary, ""]
    for name, c in out["clients"].items():
        lines += [f"## {name}", "", "| operation | lab | tested | note |", "|---|---|---|---|"]
        for op, o in sorted(c["operations"].items()):
            key = f"{name}.{op}"
            kind = "served" if o["served"] else ("not served" if key in gaps else "not modelled")
            note = ""
            if key in gaps:
                kind += " (gap)"
                note = gaps[key].replace("|", "\\|")
            elif o["status"] == "nonconforming":
                kind += " (NOT CONFORMING)"
                note = "; ".join(o["problems"])[:200].replace("|", "\\|")
            lines.append(f"| `{op}` | {kind} | {'yes' if o['tested'] else 'no'} | {note} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
