"""The TLS probe: certificate parsing, chain completeness, handshakes that observe
without being refused, protocol probing, bounded time; and the wire's fallback to
an unverified request when only the certificate is wrong."""

from __future__ import annotations

import datetime
import pathlib
import socket
import threading
import time
import warnings

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from fixtures.probes.wire import Wire
from fixtures.probes import tls, trust_store
from fixtures.probes.errors import ProbeError
from fixtures.rules.certificate_chain import missing_issuer
from fixtures.sandbox.alb_behaviour import tls_context_for_policy
from fixtures.sandbox.pki import LeafOptions, PkiFiles, make_pki
from fixtures.target import parse_target
from tests.hostile import HostileServer

DOMAIN = "cloudproject.test"
NAMES = (DOMAIN, f"*.{DOMAIN}")
MODERN = "ELBSecurityPolicy-TLS13-1-2-2021-06"
LEGACY = "ELBSecurityPolicy-2016-08"
TIMEOUT = 2.0
NOW = datetime.datetime.now(datetime.timezone.utc)


# --- parsing certificates made here ------------------------------------------------


def _self_signed(key, names: tuple[str, ...], algorithm=None, *, days: int = 30) -> bytes:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(0xC0FFEE)
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    )
    return builder.sign(key, algorithm or hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def test_an_rsa_certificate_parses_into_the_fields_the_checks_use():
    der = _self_signed(rsa.generate_private_key(public_exponent=65537, key_size=2048), NAMES)
    info = tls.parse_certificate(der)
    assert info.dns_names == NAMES
    assert info.subject == f"CN={DOMAIN}" and info.issuer == f"CN={DOMAIN}"
    assert (info.key_type, info.key_bits) == ("RSA", 2048)
    assert info.signature_hash == "sha256"
    assert info.serial == "c0ffee"
    assert info.self_signed and not info.is_ca
    assert round(info.days_left(NOW)) == 30
    expected = x509.load_der_x509_certificate(der).fingerprint(hashes.SHA256()).hex().upper()
    assert info.sha256_fingerprint.replace(":", "") == expected and info.sha256_fingerprint.count(":") == 31
    assert info.as_evidence()["key"] == "RSA 2048 bits"


def test_ec_keys_weak_rsa_keys_and_other_hashes_are_reported_as_they_are():
    ec_info = tls.parse_certificate(_self_signed(ec.generate_private_key(ec.SECP384R1()), NAMES, hashes.SHA384()))
    assert (ec_info.key_type, ec_info.key_bits, ec_info.signature_hash) == ("EC", 384, "sha384")
    weak = tls.parse_certificate(_self_signed(rsa.generate_private_key(public_exponent=65537, key_size=1024), NAMES))
    assert (weak.key_type, weak.key_bits) == ("RSA", 1024)


def test_a_certificate_without_sans_has_no_dns_names_and_an_idn_keeps_its_a_label():
    key = ec.generate_private_key(ec.SECP256R1())
    no_san = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, DOMAIN)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "issuer")]))
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW)
        .not_valid_after(NOW + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    info = tls.parse_certificate(no_san.public_bytes(serialization.Encoding.DER))
    assert info.dns_names == () and not info.self_signed  # the CN alone names nothing for a browser
    idn = tls.parse_certificate(_self_signed(key, ("xn--bcher-kva.example",)))
    assert idn.dns_names == ("xn--bcher-kva.example",)


def test_the_pem_fingerprint_matches_the_parsed_one():
    pki = make_pki(LeafOptions(NAMES))
    der = x509.load_pem_x509_certificate(pki.leaf_cert_pem).public_bytes(serialization.Encoding.DER)
    assert tls.sha256_fingerprint_of_pem(pki.leaf_cert_pem.decode()) == tls.parse_certificate(der).sha256_fingerprint


# --- chain completeness ------------------------------------------------------------------


def _chain(*pems: bytes) -> tuple[tls.CertificateInfo, ...]:
    return tuple(
        tls.parse_certificate(x509.load_pem_x509_certificate(p).public_bytes(serialization.Encoding.DER)) for p in pems
    )


def test_a_chain_is_complete_when_it_reaches_a_trust_anchor_or_a_root():
    pki = make_pki(LeafOptions(NAMES))
    anchors = (x509.load_pem_x509_certificate(pki.root_cert_pem),)
    assert missing_issuer([info.certificate() for info in _chain(pki.leaf_cert_pem, pki.intermediate_cert_pem)], anchors) is None
    # A self-made root sent with its leaf is complete (whether it is trusted is another question).
    untrusted = make_pki(LeafOptions(NAMES, issuer="untrusted"))
    assert missing_issuer([info.certificate() for info in _chain(untrusted.leaf_cert_pem, untrusted.untrusted_root_pem)], anchors) is None


def test_a_leaf_sent_without_its_intermediate_is_incomplete():
    pki = make_pki(LeafOptions(NAMES))
    anchors = (x509.load_pem_x509_certificate(pki.root_cert_pem),)
    gap = missing_issuer([info.certificate() for info in _chain(pki.leaf_cert_pem)], anchors)
    assert gap is not None and "Intermediate CA" in gap and "was not sent" in gap
    # An intermediate of another hierarchy does not fill the gap: names and signature must match.
    other = make_pki(LeafOptions(NAMES))
    assert missing_issuer([info.certificate() for info in _chain(pki.leaf_cert_pem, other.intermediate_cert_pem)], anchors) is not None


# --- handshakes against a local server --------------------------------------------------


class TlsServer(HostileServer):
    """Serves one certificate chain on 127.0.0.1 with an ALB security policy's protocols."""

    def __init__(self, files: PkiFiles, policy: str = MODERN):
        self.context = tls_context_for_policy(policy, files.cert_chain, files.key)
        super().__init__(self._answer)

    def _answer(self, connection: socket.socket, _stopping: threading.Event) -> None:
        connection.settimeout(TIMEOUT)
        try:
            with self.context.wrap_socket(connection, server_side=True) as secured:
                request = secured.recv(4096)
                if request:
                    secured.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        except OSError:
            connection.close()  # refused handshakes are the point of several tests


def _observe(files: PkiFiles, policy: str = MODERN, host: str = f"api.{DOMAIN}") -> tls.TlsObservation:
    with TlsServer(files, policy) as server:
        return tls.observe(host, "127.0.0.1", server.port, timeout=TIMEOUT, trust_store=str(files.ca_bundle))


def test_a_good_chain_is_observed_whole_verified_and_tls12_plus_only(tmp_path: pathlib.Path):
    files = make_pki(LeafOptions(NAMES)).write(tmp_path)
    seen = _observe(files)
    assert [c.subject for c in seen.chain] == [f"CN={DOMAIN}", "CN=edgeproof sandbox Intermediate CA,O=edgeproof sandbox"]
    assert seen.verification.verified
    assert seen.protocol == "TLSv1.3" and seen.offers_modern_tls
    assert dict(seen.legacy_accepted) == {"TLSv1": False, "TLSv1.1": False}
    assert seen.as_evidence()["sni"] == f"api.{DOMAIN}"


@pytest.mark.parametrize(
    "options, include_intermediate, verify_code",
    [
        (LeafOptions(NAMES, issuer="untrusted"), True, 19),  # self-signed certificate in chain
        (LeafOptions(NAMES), False, 20),  # unable to get local issuer certificate
    ],
)
def test_trust_failures_are_observed_with_openssls_reason(tmp_path, options, include_intermediate, verify_code):
    files = make_pki(options).write(tmp_path, include_intermediate=include_intermediate)
    seen = _observe(files)
    assert not seen.verification.verified and seen.verification.verify_code == verify_code
    assert seen.leaf.dns_names == NAMES  # the certificate is still seen and parsed


@pytest.mark.parametrize(
    "options",
    [
        LeafOptions(NAMES, not_before=NOW - datetime.timedelta(days=90), not_after=NOW - datetime.timedelta(days=2)),
        LeafOptions(NAMES, key="rsa1024"),
        LeafOptions(("other.test",)),
    ],
    ids=["expired", "weak-key", "other-name"],
)
def test_dates_key_size_and_names_are_left_to_their_own_checks(tmp_path, options):
    """The chain check judges trust only; an expired, weak or misnamed leaf still chains to the root."""
    seen = _observe(make_pki(options).write(tmp_path))
    assert seen.verification.verified, seen.verification
    assert seen.leaf.dns_names == options.names


def test_a_legacy_policy_accepts_tls10_and_tls11(tmp_path):
    seen = _observe(make_pki(LeafOptions(NAMES)).write(tmp_path), policy=LEGACY)
    assert dict(seen.legacy_accepted) == {"TLSv1": True, "TLSv1.1": True}
    assert seen.protocol == "TLSv1.2"  # the policy's best, negotiated by a client offering up to 1.3


def test_a_handshake_that_never_completes_is_an_error_within_the_timeout(silent_port, tmp_path):
    bundle = make_pki(LeafOptions(NAMES)).write(tmp_path).ca_bundle
    started = time.monotonic()
    with pytest.raises(ProbeError, match=r"no answer within 0.5s"):
        tls.observe(DOMAIN, "127.0.0.1", silent_port, timeout=0.5, trust_store=str(bundle))
    assert time.monotonic() - started < 2


def test_a_refused_connection_is_an_error_that_says_so(tmp_path):
    bundle = make_pki(LeafOptions(NAMES)).write(tmp_path).ca_bundle
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ProbeError, match="refused"):
        tls.observe(DOMAIN, "127.0.0.1", port, timeout=TIMEOUT, trust_store=str(bundle))


# --- the wire: content over an unverified connection when only the certificate is wrong ---


def _wire(tmp_path: pathlib.Path, files: PkiFiles, port: int, timeout: float = TIMEOUT) -> Wire:
    target = parse_target(
        {
            "site": {"domain": DOMAIN},
            "aws": {"region": "us-east-1", "alb_name": "alb", "cluster": "c"},
            "network": {"https_port": port, "ca_bundle": str(files.ca_bundle), "timeout_seconds": timeout},
        },
        tmp_path / "target.toml",
    )
    wire = Wire(target)
    wire._addresses[f"api.{DOMAIN}"] = "127.0.0.1"  # no DNS here: the address a resolver would give
    return wire


def test_the_wire_verifies_like_a_browser_and_says_so(tmp_path):
    files = make_pki(LeafOptions(NAMES)).write(tmp_path)
    with TlsServer(files) as server:
        exchange = _wire(tmp_path, files, server.port).request("https", f"api.{DOMAIN}", "/")
    assert exchange.response.status == 200
    assert exchange.tls_verified is True and exchange.as_evidence()["tls"] == {"verified": True}


@pytest.mark.parametrize(
    "options, reason",
    [
        (LeafOptions(NAMES, issuer="untrusted"), "self-signed certificate in certificate chain"),
        (LeafOptions(("staging.cloudproject.test",)), "doesn't match"),
        (LeafOptions(NAMES, key="rsa1024"), "key too weak"),
    ],
    ids=["untrusted", "other-name", "weak-key"],
)
def test_a_certificate_fault_still_lets_content_be_judged(tmp_path, options, reason):
    files = make_pki(options).write(tmp_path)
    with TlsServer(files) as server:
        wire = _wire(tmp_path, files, server.port)
        first = wire.request("https", f"api.{DOMAIN}", "/")
        second = wire.request("https", f"api.{DOMAIN}", "/other")
    assert first.response.status == 200 and first.response.text == "ok"
    assert first.tls_verified is False and reason in first.tls_error
    assert first.as_evidence()["tls"]["verified"] is False
    assert second.tls_verified is False and second.tls_error == first.tls_error  # the refusal is remembered per host


def test_the_wire_does_not_retry_a_server_that_does_not_answer(tmp_path, silent_port):
    files = make_pki(LeafOptions(NAMES)).write(tmp_path)
    wire = _wire(tmp_path, files, silent_port, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ProbeError, match="no answer within 0.5s"):
        wire.request("https", f"api.{DOMAIN}", "/")
    assert time.monotonic() - started < 1.5  # one timeout, not two: a silent server is not retried unverified


# --- the expiry thresholds -----------------------------------------------------------------


class _Evidence:
    def __init__(self) -> None:
        self.entries: dict[str, object] = {}

    def add(self, label: str, value: object) -> None:
        self.entries[label] = value


@pytest.mark.parametrize(
    "days_left, outcome",
    [(90, "pass"), (20, "warn"), (10, "fail"), (-1, "fail")],
)
def test_days_left_fail_under_the_fail_threshold_and_warn_under_the_warn_one(tmp_path, days_left, outcome):
    from checks.test_certificate import _judge_days_left

    target = parse_target({"site": {"domain": DOMAIN}, "aws": {"region": "r", "alb_name": "a", "cluster": "c"}}, tmp_path / "t.toml")
    evidence = _Evidence()
    not_after = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days_left)
    if outcome == "fail":
        with pytest.raises(AssertionError, match="at least 14 days are required"):
            _judge_days_left("the certificate", not_after, target, evidence)
        return
    with pytest.warns(UserWarning) if outcome == "warn" else _no_warning():
        _judge_days_left("the certificate", not_after, target, evidence)
    assert ("warning" in evidence.entries) == (outcome == "warn")
    assert evidence.entries["expiry"]["fail_under_days"] == 14 and evidence.entries["expiry"]["warn_under_days"] == 30


class _no_warning:
    def __enter__(self):
        self._catcher = warnings.catch_warnings()
        self._catcher.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *exc):
        return self._catcher.__exit__(*exc)


def test_the_public_trust_store_loads_without_warnings_and_a_store_of_nothing_is_an_error(tmp_path: pathlib.Path):
    # certifi holds roots with a serial number that is not positive: cryptography parses
    # them with a deprecation warning (printed in every real audit's terminal) and will
    # refuse them later. Each root is parsed alone: none is lost with another, none warns.
    import certifi

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        anchors = trust_store.load_trust_anchors(certifi.where())
    assert len(anchors) > 100
    refused = tmp_path / "refused.pem"
    root = make_pki(LeafOptions(NAMES)).root_cert_pem
    refused.write_bytes(b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n" + root)
    assert trust_store.load_trust_anchors(str(refused)) == (x509.load_pem_x509_certificate(root),), "the refused block left out, the other kept"
    empty = tmp_path / "empty.pem"
    empty.write_text("not a bundle\n", encoding="ascii")
    with pytest.raises(ValueError, match="no PEM certificate"):
        trust_store.load_trust_anchors(str(empty))
