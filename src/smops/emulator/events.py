"""EventBridge's TestEventPattern, which moto 5.2.5 accepts and answers with nothing.

Answered with the matcher moto itself uses to route PutEvents to rules, so testing a pattern agrees
with what the emulator's rules deliver. As in EventBridge, the event must carry the envelope fields.
"""

from __future__ import annotations

import json

from moto.events.models import EventPattern

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
