"""edgeproof's plugin wiring. Each concern lives in its own module under fixtures/:

- fixtures.session     options (--target, --sandbox-fault), the target, the embedded deployment
- fixtures.reporting   --report-dir; compliance.html, compliance.json, junit.xml
- fixtures.evidence    the `evidence` fixture checks attach what they looked at with
- fixtures.extra_checks  --extra-checks DIR / [checks] extra: a team's own checks
- fixtures.facts.*     facts, one module per source: AWS services (boto3, read-only), DNS, TLS, HTTP
"""

from fixtures.facts import plugin_modules

# In dependency order: a module imported by an earlier one cannot be assert-rewritten.
pytest_plugins = [
    "fixtures.evidence",
    "fixtures.reporting",
    "fixtures.session",
    "fixtures.slow",
    "fixtures.extra_checks",
    *plugin_modules(),
]
