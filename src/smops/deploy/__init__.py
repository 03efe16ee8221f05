"""The deploy stage: an Approved package to an endpoint (the plan, blue/green strategies,
rollback alarms, autoscaling kept), smoke tests, rollback to an earlier config, cleanup."""
