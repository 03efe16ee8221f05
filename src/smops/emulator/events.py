"""EventBridge where moto 5.2.5 falls short: TestEventPattern, and rules that target a Lambda function.

TestEventPattern (which moto accepts and answers with nothing) is answered with the matcher moto
itself uses to route PutEvents to rules, so testing a pattern agrees with what the emulator's rules
deliver. As in EventBridge, the event must carry the envelope fields.

A rule whose target is a Lambda function made moto raise inside PutEvents (HTTP 500 on whatever
call emitted the event). Here the event is handed to the function as EventBridge does, as an
asynchronous invocation; the emulator runs no Lambda code, so the invocations wait, in order, for
whoever plays the Lambda runtime (a test running the handler) to take them with `invocations`.
"""

from __future__ import annotations

import copy
import json
import threading
import weakref

from moto.core.utils import iso_8601_datetime_without_milliseconds, utcfromtimestamp
from moto.events.models import EventPattern, Rule
from moto.utilities.arns import parse_arn

ENVELOPE = ("id", "account", "source", "time", "region", "resources", "detail-type")


def patch(handler_class) -> None:
    def test_event_pattern(self):
        pattern = EventPattern.load(self._get_param("EventPattern"))
        try:
            event = json.loads(self._get_param("Event") or "")
        except ValueError:
            event = None
        if not isinstance(event, dict) or any(field not in event for field in ENVELOPE):
            return self.error("ValidationException", "Parameter Event is not valid.")
        return self._create_response({"Result": pattern.matches_event(event)})

    handler_class.test_event_pattern = test_event_pattern
    _patch_lambda_targets()


# Asynchronous invocations waiting for a Lambda runtime, by moto's function (a reset forgets them).
_pending: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_pending_lock = threading.Lock()


def _patch_lambda_targets() -> None:
    original = Rule.send_to_targets

    def send_to_targets(self, original_event, transform_input=True):
        functions = [t for t in self.targets if parse_arn(t["Arn"]).service == "lambda"]
        if not functions:
            return original(self, original_event, transform_input)
        if self.event_pattern.matches_event(original_event):
            for target in functions:
                _invoke_async(self, target["Arn"], original_event)
        others = copy.copy(self)
        others.targets = [t for t in self.targets if t not in functions]
        return original(others, original_event, transform_input)

    Rule.send_to_targets = send_to_targets


def _invoke_async(rule, function_arn: str, event: dict) -> None:
    from moto.awslambda.exceptions import UnknownFunctionException
    from moto.awslambda.utils import get_backend

    try:
        function = get_backend(rule.account_id, parse_arn(function_arn).region).get_function(function_arn)
    except UnknownFunctionException:
        return  # EventBridge fails the delivery; nothing runs
    delivered = {key: value for key, value in event.items() if key != "ingestion-time"}
    delivered["time"] = iso_8601_datetime_without_milliseconds(utcfromtimestamp(float(event["time"])))
    with _pending_lock:
        _pending.setdefault(function, []).append(delivered)


def invocations(function_arn: str, account_id: str, region: str) -> list[dict]:
    """Take the events delivered to this function since the last call, oldest first."""
    from moto.awslambda.utils import get_backend

    function = get_backend(account_id, region).get_function(function_arn)
    with _pending_lock:
        return _pending.pop(function, [])


def model_package_state_change(sagemaker_backend, package) -> None:
    """Send "SageMaker Model Package State Change" to the default bus, as SageMaker does.

    moto's PutEvents then routes it to the rules that match (an SQS queue target, say), so the
    approval bridge can be rehearsed with the same event pattern as in infra/.
    """
    from moto.events.models import events_backends

    detail = json.loads(json.dumps(package.gen_response_object(), default=_iso))
    events_backends[sagemaker_backend.account_id][sagemaker_backend.region_name].put_events(
        [
            {
                "Source": "aws.sagemaker",
                "DetailType": "SageMaker Model Package State Change",
                "Detail": json.dumps(detail),
                "Resources": [package.arn],
            }
        ]
    )


def _iso(value):
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
