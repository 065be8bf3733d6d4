"""edgeproof's plugin wiring. Each concern lives in its own module under fixtures/ (fixtures/__init__.py maps them):

- fixtures.plugins.session     options (--target, --sandbox-fault), the target, the embedded deployment
- fixtures.plugins.resources   each target's AWS reader and Wire (the `aws` and `wire` fixtures)
- fixtures.plugins.facts       the fact engine's prefetch, started with the first check
- fixtures.plugins.precutover  --pin-to-alb: audit a new ALB before DNS points at it
- fixtures.plugins.evidence    the `evidence` fixture checks attach what they looked at with
- fixtures.plugins.slow        --run-slow: opt-in checks
- fixtures.plugins.extra_checks  --extra-checks DIR / [checks] extra: a team's own checks
- fixtures.plugins.who_looked  the AWS preflight before any fact (aws.account_id), who looked in every report
- fixtures.plugins.rollout     --wait-stable SECONDS: wait for an ECS rollout in flight, as `aws ecs wait services-stable`
- fixtures.runtime     signals (SIGTERM/SIGINT end a run cleanly) and the run deadline (--max-run-seconds);
                       fixtures.runtime.early: the first instant (stale reports removed, exit 2 on a signal)
- fixtures.gate        the release gate: --fail-on, --allow-incomplete, --waivers, the exit code
- fixtures.report.ci_log  the terminal as a CI log: could-not-verify checks one line each, grouped by cause
- fixtures.report.*    --report-dir; compliance.json, compliance.html, junit.xml (one module per format);
                       exports: compliance.sarif, compliance.ocsf.json
- fixtures.history     the run history store, drift and notifications
- fixtures.facts.*     facts, one module per source: AWS services (boto3, read-only), DNS, TLS, HTTP
"""

from fixtures.facts import plugin_modules

# In dependency order: a module imported by an earlier one cannot be assert-rewritten.
pytest_plugins = [
    # First: signals and the report folder from the first instant. Loaded earlier still
    # by `-p fixtures.runtime.early` (pyproject's addopts), before pytest's own plugins.
    "fixtures.runtime.early",
    "fixtures.plugins.evidence",
    "fixtures.gate.waiver_plugin",
    "fixtures.report.plugin",
    "fixtures.report.assertion_repr",
    "fixtures.report.ci_log",
    "fixtures.runtime.plugin",
    "fixtures.gate.plugin",
    "fixtures.history.plugin",
    "fixtures.report.exports",
    "fixtures.plugins.session",
    "fixtures.plugins.precutover",
    "fixtures.plugins.slow",
    "fixtures.plugins.extra_checks",
    *plugin_modules(),
    "fixtures.plugins.rollout",
    "fixtures.plugins.resources",
    "fixtures.plugins.facts",
    "fixtures.plugins.who_looked",
]
