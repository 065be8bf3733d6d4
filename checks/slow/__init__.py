"""Opt-in checks that wait on something slow; run with --run-slow or -m slow (fixtures/plugins/slow.py).

They are kept out of the default run, and so out of the detection matrix and
the README's generated catalogue (both cover the default run); each has its
own self-test (tests/test_access_log_delivery.py) and a README note.
"""
