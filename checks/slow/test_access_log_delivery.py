"""Requirement `access-logs`, end to end: a request's own log line lands in the bucket.

The suite sends a request carrying a unique marker through the ALB, then polls
the log bucket until a line with that marker lands, for at most the target's
`log_delivery_bound_seconds` (AWS delivers every 5 minutes; the default bound
is 10 minutes). Opt-in: `--run-slow` or `-m slow`.
"""

from __future__ import annotations

import pytest

from fixtures.catalogue.checkmeta import check


@pytest.mark.slow
@check(
    id="LOG-07",
    title="A marked request's access-log line lands in the bucket within the bound",
    requirement="access-logs",
    plane="across",
    severity="high",
    remediation="Fix access-log delivery (LOG-01 to LOG-06 say where it breaks) and run this check again.",
)
def test_a_marked_requests_log_line_lands(access_log_delivery, evidence):
    evidence.add("end-to-end delivery", access_log_delivery.as_evidence())
    evidence.add("marked request", access_log_delivery.request)
    assert access_log_delivery.cannot_land is None, (
        f"the request marked {access_log_delivery.marker} cannot be logged: {access_log_delivery.cannot_land}"
    )
    assert access_log_delivery.landed, (
        f"no access-log line carrying {access_log_delivery.marker} landed in s3://{access_log_delivery.bucket} within "
        f"{access_log_delivery.bound_seconds} s ({access_log_delivery.polls} polls, {access_log_delivery.files_read} new log files read)"
    )
