"""The stock Python OFREP provider (openfeature-provider-ofrep with
openfeature-sdk) against a running Switchyard seeded by run.sh. Exits
non-zero, naming the case, on any mismatch."""

import os
import sys

from openfeature import api
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext

url = os.environ["SWITCHYARD_URL"]


def client_with(secret, domain, header="Authorization"):
    value = f"Bearer {secret}" if header == "Authorization" else secret
    api.set_provider(OFREPProvider(url, headers_factory=lambda: {header: value}), domain)
    return api.get_client(domain)


def check(name, got, **want):
    for field, value in want.items():
        actual = getattr(got, field)
        actual = getattr(actual, "value", actual)  # enums (reason, error code)
        if actual != value:
            sys.exit(f"FAIL {name}: {field} = {actual!r}, want {value!r} ({got})")
    print(f"  ok  {name}")


client = client_with(os.environ["SWITCHYARD_SDK_KEY"], "main")
user = {"country": "NO", "plan": "pro"}
ctx = lambda key="u1", **attrs: EvaluationContext(key, {**user, **attrs})

check("bool, rule miss", client.get_boolean_details("checkout", True, ctx()), value=False, variant="off", reason="STATIC")
check("bool, rule match", client.get_boolean_details("checkout", False, ctx(country="SE")), value=True, reason="TARGETING_MATCH")
check("string, target match", client.get_string_details("banner", "x", ctx("vip")), value="bye", reason="TARGETING_MATCH")
check("string, fallthrough", client.get_string_details("banner", "x", ctx()), value="hello", reason="STATIC")
check("number", client.get_float_details("limit", 0.0, ctx()), value=2.5, variant="high")
seen = set()
for i in range(40):
    d = client.get_object_details("theme", {}, ctx(f"user-{i}"))
    if d.reason != "SPLIT" or not isinstance(d.value.get("bg"), str):
        sys.exit(f"FAIL object, percentage user-{i}: {d}")
    seen.add(d.variant)
if len(seen) != 2:
    sys.exit(f"FAIL percentage rollout: variants served {seen}")
print("  ok  object, percentage rollout (SPLIT, both arms)")
check("killed", client.get_boolean_details("legacy", True, ctx(country="SE")), value=False, variant="off", reason="DISABLED")
check("missing flag", client.get_boolean_details("nope", True, ctx()), value=True, reason="ERROR", error_code="FLAG_NOT_FOUND")
check("no targeting key", client.get_boolean_details("checkout", True, EvaluationContext(None, user)), value=True, reason="ERROR", error_code="TARGETING_KEY_MISSING")
check("bad context", client.get_boolean_details("checkout", True, ctx(address={"city": "Oslo"})), value=True, reason="ERROR", error_code="INVALID_CONTEXT")
api_key = client_with(os.environ["SWITCHYARD_SDK_KEY"], "api-key", "X-API-Key")
check("X-API-Key header", api_key.get_boolean_details("checkout", False, ctx(country="SE")), value=True)
gone = client_with(os.environ["REVOKED_SDK_KEY"], "revoked")
check("revoked key", gone.get_boolean_details("checkout", True, ctx()), value=True, reason="ERROR", error_code="GENERAL")
print("python provider: all cases passed")
