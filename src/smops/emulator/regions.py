"""An unknown region gets no answer, as on AWS.

On AWS a misspelled region names an endpoint that does not exist (sagemaker.us-eats-1.amazonaws.com):
the name does not resolve and botocore raises EndpointConnectionError after its retries. moto's
server instead answers an HTML page with status 500. The emulator closes the connection without
an answer, so a client sees a connection-level failure as it would on AWS, never an HTTP error.
The region is the one the request was signed for (SigV4's credential scope).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs

from smops import aws
from smops.emulator.faults import hang_up

# Credential=AKID/20260101/us-east-1/sagemaker/aws4_request, in the Authorization header or a
# presigned URL's X-Amz-Credential.
SCOPE = re.compile(r"^[^/]+/\d{8}/(?P<region>[^/]+)/[^/]+/aws4_request")


def signed_region(environ) -> str | None:
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    credential = authorization.partition("Credential=")[2] or next(
        iter(parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential", [])), ""
    )
    match = SCOPE.match(credential)
    return match["region"] if match else None


def patch(app_class) -> None:
    """Hang up on a request signed for a region no AWS partition has."""
    original = app_class.__call__

    def __call__(self, environ, start_response):
        region = signed_region(environ)
        if region is not None and region not in aws.known_regions():
            return hang_up(environ, start_response)
        return original(self, environ, start_response)

    app_class.__call__ = __call__
