"""edgeproof's plugin wiring. Each concern lives in its own module under fixtures/:

- fixtures.session     options (--target, --sandbox-fault), the target, the embedded deployment
- fixtures.reporting   --report-dir; compliance.html, compliance.json, junit.xml
- fixtures.evidence    the `evidence` fixture checks attach what they looked at with
- fixtures.aws_facts   control-plane facts (boto3, read-only)
- fixtures.wire_facts  wire facts (DNS, HTTP through the configured resolvers)
"""

# In dependency order: a module imported by an earlier one cannot be assert-rewritten.
pytest_plugins = [
    "fixtures.evidence",
    "fixtures.reporting",
    "fixtures.session",
    "fixtures.aws_facts",
    "fixtures.wire_facts",
]
