"""The embedded AWS: moto's server on 127.0.0.1, plus the SageMaker behaviour moto lacks.

Used by `smops emulator`, `smops demo`, rehearsals and the tests. The additions are installed
once on moto's response and backend classes (moto dispatches an action to the response method
of the same name), with the request and response shapes of botocore's service model.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Any

from smops.emulator.settings import settings

REGION = "us-east-1"
# moto's fake credentials: any value works, these make it obvious nothing real is used.
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

_installed = False
_lock = threading.RLock()


def install() -> None:
    """Extend moto's SageMaker and EventBridge with the operations and behaviour smops depends on."""
    global _installed
    if _installed:
        return
    from moto.cloudformation.models import Stack
    from moto.events.responses import EventsHandler
    from moto.iam.responses import IamResponse
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication
    from moto.sagemaker.responses import SageMakerResponse
    from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

    from smops.emulator import (
        cloudformation, endpoints, events, faults, iam, monitoring, policy_simulator, processing, regions, registry,
        sagemaker, stack_parameters,
    )

    from moto import backends

    # moto routes each request by listing its own package's folders from disk, under the
    # dispatcher's lock (half a millisecond a request, one request at a time): they cannot change
    # while it serves, so they are listed once.
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules

    original_call = SageMakerResponse.call_action

    def call_action(self):
        # Simulations move forward lazily, before every SageMaker request.
        with _lock:
            sagemaker.advance(self.sagemaker_backend)
            endpoints.advance(self.sagemaker_backend)
            return original_call(self)

    SageMakerResponse.call_action = call_action
    sagemaker.patch(SageMakerResponse)
    endpoints.patch(SageMakerResponse)
    endpoints.patch_runtime(SageMakerRuntimeResponse, _lock)
    registry.patch(SageMakerResponse)
    events.patch(EventsHandler)
    monitoring.patch(SageMakerResponse)
    processing.patch(SageMakerResponse)
    faults.patch(DomainDispatcherApplication)
    regions.patch(DomainDispatcherApplication)
    policy_simulator.patch(IamResponse)
    stack_parameters.patch(Stack)
    cloudformation.install()
    iam.install()
    _installed = True


class Emulator:
    """moto's threaded server with smops' additions; use as a context manager."""

    def __init__(self, port: int = 0, region: str = REGION):
        self.port = port
        self.region = region
        self.url = ""
        self._server: Any = None

    def start(self) -> Emulator:
        from moto.server import ThreadedMotoServer

        install()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.port = port
        self.url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        if self._server:
            self._server.stop()
            self._server = None

    def reset(self) -> None:
        """Forget every resource and setting, as a fresh emulator would."""
        from moto.moto_api._internal.models import moto_api_backend

        from smops.emulator import faults

        faults.release()  # nothing stays blocked on a hold of the test before
        with _lock:
            moto_api_backend.reset()
            settings.reset()

    def env(self) -> dict[str, str]:
        """The environment a process needs to talk to this emulator instead of AWS."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            **FAKE_CREDENTIALS,
        }

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def run(args) -> dict[str, str]:
    """`smops emulator`: serve until Ctrl-C or SIGTERM."""
    from smops import aws

    aws.check_region(args.region)  # the AWS_REGION it prints: a misspelled one would get no answers
    if args.step_seconds is not None:
        settings.step_seconds = args.step_seconds
    settings.fail_steps.update(dict(args.fail_step))
    emulator = Emulator(port=args.port, region=args.region).start()
    from moto.core import DEFAULT_ACCOUNT_ID

    from smops.emulator import seed

    try:
        for spec in args.model_package:
            arn = seed.model_package(spec, args.region, DEFAULT_ACCOUNT_ID)
            print(f"registered Approved stand-in model package {arn}", file=sys.stderr, flush=True)
    except BaseException:
        emulator.stop()
        raise
    # Ready to be stopped before saying it is ready: whoever reads the exports may stop it at once.
    stop = threading.Event()
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, lambda *_: stop.set())
    for name, value in emulator.env().items():
        print(f"export {name}={value}")
    sys.stdout.flush()
    print(
        f"smops emulator listening on {emulator.url} (fake account 123456789012); "
        "Ctrl-C stops it",
        file=sys.stderr,
        flush=True,
    )
    stop.wait()
    emulator.stop()
    print("smops emulator stopped", file=sys.stderr, flush=True)
    return {}
