import os

from openfeature import api
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext

key = os.environ["SWITCHYARD_SDK_KEY"]
api.set_provider(
    OFREPProvider(
        os.environ["SWITCHYARD_URL"],  # e.g. http://localhost:8080
        headers_factory=lambda: {"Authorization": f"Bearer {key}"},
    )
)
client = api.get_client()

context = EvaluationContext("user-123", {"country": "SE", "plan": "pro"})
enabled = client.get_boolean_value("new-checkout", False, context)
details = client.get_string_details("banner", "hi", context)  # value, variant, reason
print(enabled, details.value, details.reason)
