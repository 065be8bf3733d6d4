"""Requirement `certificate`: the wildcard certificate is valid, served, and the one ACM holds.

The write-up requested one ACM certificate "for the domain and wildcard",
validated it through a CNAME in the hosted zone and attached it to the 443
listener. On the wire every public host must present a chain a client trusts,
for a name that covers the host, with time left, a strong key and TLS 1.2+
only; on the control plane the listener's certificate must be an issued,
Amazon-issued ACM certificate whose renewal will work, behind a TLS-1.2-only
security policy; across the planes the served leaf must be ACM's.

Each wire property is judged by one check from its own observation (see
fixtures/probes/tls.py), so an expired certificate fails the expiry check and
not the chain check, and a weak key fails the key check only.
"""

from __future__ import annotations

import datetime
import warnings

import pytest

from fixtures.catalogue.checkmeta import check
from fixtures.model.acm import AcmCertificate
from fixtures.model.elbv2 import Listener
from fixtures.rules.acm_validation import validation_problems
from fixtures.rules.certificate_chain import missing_issuer
from fixtures.rules.listener_certificates import serving_certificates, uncovered_hosts
from fixtures.rules.names import covering_name, names_lacking, wildcard_certificate_names
from fixtures.rules.zones import the_public_zone

# CA/Browser Forum baseline requirements and browsers: RSA keys of at least
# 2048 bits, EC keys on P-256 or larger; EdDSA keys are fixed-size and strong.
MINIMUM_KEY_BITS = {"RSA": 2048, "EC": 256, "Ed25519": 256, "Ed448": 448}
# SHA-1 and MD5 signatures are forgeable; SHA-2 and SHA-3 of 256 bits or more are accepted.
STRONG_SIGNATURE_HASHES = frozenset({"sha256", "sha384", "sha512", "sha3-256", "sha3-384", "sha3-512"})
# TLS 1.0 and 1.1 are deprecated (RFC 8996).
ALLOWED_PROTOCOLS = frozenset({"TLSv1.2", "TLSv1.3"})


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _expiry_sentence(what: str, not_after: datetime.datetime, days_left: float) -> str:
    if days_left < 0:
        return f"{what} expired on {not_after.isoformat()} ({-days_left:.1f} days ago)"
    return f"{what} expires on {not_after.isoformat()} ({days_left:.1f} days left)"


def _judge_days_left(what: str, not_after: datetime.datetime, target, evidence) -> None:
    """Fail under the fail threshold; pass with a warning under the warn threshold."""
    days_left = (not_after - _now()).total_seconds() / 86400
    fail_days, warn_days = target.thresholds.certificate_fail_days, target.thresholds.certificate_warn_days
    evidence.add(
        "expiry",
        {"not_after": not_after.isoformat(), "days_left": round(days_left, 1), "fail_under_days": fail_days, "warn_under_days": warn_days},
    )
    assert days_left >= fail_days, f"{_expiry_sentence(what, not_after, days_left)}; at least {fail_days} days are required"
    if days_left < warn_days:
        message = f"{_expiry_sentence(what, not_after, days_left)}: under the {warn_days}-day warning threshold"
        evidence.add("warning", message)
        warnings.warn(message, UserWarning, stacklevel=2)


# --- wire: the handshake each public host gives ---------------------------------------


@check(
    id="CRT-01",
    title="The served chain verifies against the trust store",
    requirement="certificate",
    plane="wire",
    severity="high",
    remediation="Serve a certificate from a publicly trusted CA (request it in ACM) instead of a self-made or internal one.",
)
def test_served_chain_verifies_against_the_trust_store(tls_observation, evidence):
    evidence.add("handshake", tls_observation.as_evidence())
    verification = tls_observation.verification
    evidence.add("chain verification", verification.as_evidence())
    assert verification.verified, (
        f"the chain {tls_observation.host} sends does not verify against {verification.trust_store}: "
        f"OpenSSL error {verification.verify_code} ({verification.verify_message}); the leaf's issuer is "
        f"{tls_observation.leaf.issuer!r}"
    )


@check(
    id="CRT-02",
    title="The server sends the intermediate certificates a client needs",
    requirement="certificate",
    plane="wire",
    severity="medium",
    remediation="Import the certificate with its chain (ACM: --certificate-chain) or use an ACM-issued certificate, which ACM chains itself.",
)
def test_server_sends_the_intermediate_certificates(tls_observation, trust_anchors, evidence):
    evidence.add("chain sent", [info.as_evidence() for info in tls_observation.chain])
    gap = missing_issuer([info.certificate() for info in tls_observation.chain], trust_anchors)
    assert gap is None, (
        f"{tls_observation.host} sends {len(tls_observation.chain)} certificate(s) and {gap}; "
        "clients that do not fetch missing intermediates refuse the connection"
    )


@check(
    id="CRT-03",
    title="The certificate's names cover the host (a wildcard covers one label, never the apex)",
    requirement="certificate",
    plane="wire",
    severity="high",
    remediation="Request the certificate for DOMAIN and *.DOMAIN (a wildcard alone does not cover the apex).",
)
def test_certificate_names_cover_the_host(tls_observation, public_host, evidence):
    names = tls_observation.leaf.dns_names
    match = covering_name(names, public_host)
    evidence.add("name match", {"host": public_host, "subject_alternative_names": list(names), "covered_by": match})
    assert match is not None, (
        f"the certificate served for {public_host} names {list(names)}; none covers {public_host} "
        "(a wildcard covers exactly one label and never the apex)"
    )


@check(
    id="CRT-04",
    title="The served certificate names both the domain and its wildcard",
    requirement="certificate",
    plane="wire",
    severity="medium",
    remediation="Request one certificate with DOMAIN as its name and *.DOMAIN as an additional name, as the write-up did.",
)
def test_served_certificate_names_the_domain_and_its_wildcard(tls_observation, target, evidence):
    names = tls_observation.leaf.dns_names
    wanted = wildcard_certificate_names(target.domain)
    missing = names_lacking(names, wanted)
    evidence.add("names", {"expected": list(wanted), "subject_alternative_names": list(names)})
    assert not missing, (
        f"the certificate {tls_observation.host} serves names {list(names)}; it lacks {missing}"
    )


@check(
    id="CRT-05",
    title="The served certificate is valid now and has enough days left",
    requirement="certificate",
    plane="wire",
    severity="high",
    remediation="Renew or replace the certificate (ACM renews its own certificates while their DNS validation records exist).",
)
def test_served_certificate_has_enough_days_left(tls_observation, target, evidence):
    leaf = tls_observation.leaf
    evidence.add("certificate", leaf.as_evidence())
    assert leaf.not_before <= _now(), (
        f"the certificate {tls_observation.host} serves is not valid before {leaf.not_before.isoformat()}"
    )
    _judge_days_left(f"the certificate {tls_observation.host} serves", leaf.not_after, target, evidence)


@check(
    id="CRT-06",
    title="The key is strong (RSA 2048+, EC 256+) and signatures use SHA-256 or stronger",
    requirement="certificate",
    plane="wire",
    severity="high",
    controls=("ACM.2",),
    remediation="Request a new certificate with RSA 2048 or ECDSA P-256 (ACM's defaults); retire the weak one.",
)
def test_key_and_signatures_are_strong(tls_observation, evidence):
    leaf = tls_observation.leaf
    evidence.add(
        "keys and signatures",
        [{"subject": c.subject, "key": f"{c.key_type} {c.key_bits}", "signature_hash": c.signature_hash} for c in tls_observation.chain],
    )
    problems = []
    minimum = MINIMUM_KEY_BITS.get(leaf.key_type)
    if minimum is None or leaf.key_bits < minimum:
        expected = f"at least {minimum} bits" if minimum else "RSA or EC"
        problems.append(f"the leaf's key is {leaf.key_type} {leaf.key_bits} bits (expected {expected})")
    for certificate in tls_observation.chain:
        # A root's self-signature is never checked by clients; every other signature is.
        if certificate.self_signed or certificate.signature_hash is None:
            continue
        if certificate.signature_hash not in STRONG_SIGNATURE_HASHES:
            problems.append(f"{certificate.subject!r} is signed with {certificate.signature_hash}")
    assert not problems, f"{tls_observation.host}: " + "; ".join(problems)


@check(
    id="CRT-07",
    title="TLS 1.2 or newer is offered and TLS 1.0 and 1.1 are refused",
    requirement="certificate",
    plane="wire",
    severity="high",
    remediation="Set the 443 listener's security policy to ELBSecurityPolicy-TLS13-1-2-2021-06 (TLS 1.2 and 1.3 only).",
)
def test_only_tls_1_2_and_newer_are_accepted(tls_observation, evidence):
    accepted = dict(tls_observation.legacy_accepted)
    evidence.add(
        "protocols",
        {
            "negotiated_by_a_modern_client": tls_observation.protocol,
            "cipher": tls_observation.cipher,
            **{f"{name}_accepted": value for name, value in accepted.items()},
        },
    )
    assert tls_observation.offers_modern_tls, (
        f"{tls_observation.host} negotiated {tls_observation.protocol} with a client offering up to TLS 1.3: "
        "TLS 1.2 or newer is not offered"
    )
    legacy = [name for name, value in accepted.items() if value]
    assert not legacy, f"{tls_observation.host} accepts {', '.join(legacy)}; TLS 1.0 and 1.1 must be refused"


# --- control plane: ACM and the listener ---------------------------------------------


def _site_certificates(https_listener: Listener | None, listener_certificates, listener_acm_certificates, target, evidence) -> tuple[AcmCertificate, ...]:
    """The listener's ACM certificates the ALB serves for the site's hosts, each once.

    A listener has a default certificate and a certificate list it chooses from by SNI
    (fixtures.rules.listener_certificates): a default for another domain is right when
    the list serves every host, so the certificates judged are those the hosts get.
    """
    assert https_listener is not None, "the ALB has no HTTPS listener on port 443"
    assert listener_certificates, f"the 443 listener {https_listener.arn} has no certificate"
    default = next((c.arn for c in listener_certificates if c.is_default), None)
    listed = [c.arn for c in listener_certificates if not c.is_default]
    names = _certificate_names(listener_acm_certificates)
    serving = {host: serving_certificates(host, default, listed, names) for host in target.public_hosts}
    evidence.add("listener certificates", [c.as_evidence() for c in listener_certificates])
    evidence.add("served by SNI name", {host: list(arns) for host, arns in serving.items()})
    arns = list(dict.fromkeys(arn for served in serving.values() for arn in served))
    not_acm = [arn for arn in arns if arn not in listener_acm_certificates]
    assert not not_acm, f"the 443 listener's certificate {not_acm[0]} is not an ACM certificate"
    return tuple(listener_acm_certificates[arn] for arn in arns)


def _certificate_names(listener_acm_certificates) -> dict[str, tuple[str, ...]]:
    return {arn: (c.domain_name, *c.subject_alternative_names) for arn, c in listener_acm_certificates.items()}


@check(
    id="CRT-08",
    title="The 443 listener's certificates are Amazon-issued ACM certificates, issued and in use by this ALB",
    requirement="certificate",
    plane="control",
    severity="medium",
    remediation="Request the certificate in ACM (DNS validation) and attach it to the 443 listener; imported certificates never renew.",
)
def test_listener_certificate_is_amazon_issued_and_in_use(https_listener, listener_certificates, listener_acm_certificates, load_balancer, target, evidence):
    certificates = _site_certificates(https_listener, listener_certificates, listener_acm_certificates, target, evidence)
    evidence.add("ACM certificates", [c.as_evidence() for c in certificates])
    problems = []
    for certificate in certificates:
        if certificate.status != "ISSUED":
            problems.append(f"{certificate.arn}: its status is {certificate.status}")
        if certificate.type != "AMAZON_ISSUED":
            problems.append(f"{certificate.arn}: its type is {certificate.type}: ACM does not renew a certificate it did not issue")
        if load_balancer.arn not in certificate.in_use_by:
            problems.append(f"{certificate.arn}: ACM does not list {load_balancer.name} among its users ({list(certificate.in_use_by)})")
    assert not problems, (
        "ACM certificate " + "; ".join(problems) + "; expected ISSUED, AMAZON_ISSUED and in use by this ALB"
    )


@check(
    id="CRT-09",
    title="The listener's certificates cover every host (by SNI), each naming the domain and its wildcard",
    requirement="certificate",
    plane="control",
    severity="medium",
    remediation="Request a certificate for DOMAIN with *.DOMAIN as an additional name and attach it to the 443 listener "
    "(as its default, or in its certificate list: aws elbv2 add-listener-certificates).",
)
def test_acm_certificate_names_the_domain_and_its_wildcard(https_listener, listener_certificates, listener_acm_certificates, target, evidence):
    certificates = _site_certificates(https_listener, listener_certificates, listener_acm_certificates, target, evidence)
    default = next((c.arn for c in listener_certificates if c.is_default), None)
    listed = [c.arn for c in listener_certificates if not c.is_default]
    uncovered = uncovered_hosts(target.public_hosts, default, listed, _certificate_names(listener_acm_certificates))
    assert not uncovered, (
        f"no certificate of the 443 listener covers {', '.join(uncovered)}: the ALB serves "
        + ("its default certificate" if default else "no certificate")
        + " to these hosts, for other names"
    )
    wanted = wildcard_certificate_names(target.domain)
    lacking = []
    for certificate in certificates:
        names = (certificate.domain_name, *certificate.subject_alternative_names)
        evidence.add(f"names of {certificate.arn}", {"expected": list(wanted), "acm_names": sorted(set(names))})
        missing = names_lacking(names, wanted)
        if missing:
            lacking.append(f"ACM certificate {certificate.arn} names {sorted(set(names))}; it lacks {missing}")
    assert not lacking, "; ".join(lacking)


@check(
    id="CRT-10",
    title="Every ACM domain validation succeeded and its CNAME is still in the hosted zone",
    requirement="certificate",
    plane="control",
    severity="medium",
    remediation="Recreate the validation CNAMEs ACM shows for the certificate (ACM console: Create records in Route 53); renewal needs them.",
)
def test_acm_validations_succeeded_and_their_records_remain(https_listener, listener_certificates, listener_acm_certificates, public_hosted_zones, target, evidence):
    certificates = _site_certificates(https_listener, listener_certificates, listener_acm_certificates, target, evidence)
    # A certificate served only to hosts it does not cover (CRT-09's finding) is validated in another zone.
    renewed = [
        c for c in certificates
        if c.type == "AMAZON_ISSUED" and any(covering_name((c.domain_name, *c.subject_alternative_names), host) for host in target.public_hosts)
    ]
    if not renewed:
        pytest.skip(f"ACM neither validates nor renews {', '.join(c.arn for c in certificates)} ({certificates[0].type}; CRT-08 reports that)")
    zone = the_public_zone(public_hosted_zones, target.domain)
    problems = []
    for certificate in renewed:
        evidence.add(f"validations of {certificate.arn}", [vars(v) for v in certificate.validations])
        if not certificate.validations:
            problems.append(f"ACM certificate {certificate.arn} lists no domain validations")
            continue
        found, seen = validation_problems(certificate.validations, zone)
        evidence.add(f"validation records in the zone for {certificate.arn}", seen)
        problems += [f"ACM certificate {certificate.arn}: {problem}" for problem in found]
    assert not problems, "; ".join(problems) + "; the next renewal would fail"


@check(
    id="CRT-11",
    title="The ACM certificate has enough days left",
    requirement="certificate",
    plane="control",
    severity="high",
    controls=("ACM.1",),
    remediation="Find out why ACM has not renewed it (validation records, CAA) or replace it before it expires.",
)
def test_acm_certificate_has_enough_days_left(https_listener, listener_certificates, listener_acm_certificates, target, evidence):
    certificates = _site_certificates(https_listener, listener_certificates, listener_acm_certificates, target, evidence)
    evidence.add("ACM certificates", [c.as_evidence() for c in certificates])
    for certificate in certificates:
        assert certificate.not_after is not None, f"ACM reports no expiry date for {certificate.arn}"
    for certificate in sorted(certificates, key=lambda c: c.not_after):
        _judge_days_left(f"ACM certificate {certificate.arn}", certificate.not_after, target, evidence)


@check(
    id="CRT-12",
    title="The 443 listener's security policy allows only TLS 1.2 and newer",
    requirement="certificate",
    plane="control",
    severity="high",
    controls=("ELB.17",),
    remediation="aws elbv2 modify-listener --listener-arn ARN --ssl-policy ELBSecurityPolicy-TLS13-1-2-2021-06",
)
def test_listener_security_policy_allows_only_tls_1_2_and_newer(https_listener, https_ssl_policy, evidence):
    # Accepted: every policy AWS describes as allowing TLSv1.2/TLSv1.3 and nothing
    # older (ELBSecurityPolicy-TLS13-1-2-*, -TLS13-1-3-*, -TLS-1-2-*, FS-1-2-*, FIPS
    # and PQ variants ...). ELB.17's recommended list is a subset of these. The CLI
    # and CloudFormation default, ELBSecurityPolicy-2016-08, allows TLS 1.0 and 1.1.
    assert https_listener is not None, "the ALB has no HTTPS listener on port 443"
    assert https_ssl_policy is not None, f"the 443 listener {https_listener.arn} names no security policy"
    evidence.add("security policy", https_ssl_policy.as_evidence())
    older = sorted(set(https_ssl_policy.protocols) - ALLOWED_PROTOCOLS)
    assert https_ssl_policy.protocols and not older, (
        f"the 443 listener's policy {https_ssl_policy.name} allows {list(https_ssl_policy.protocols)}; "
        f"{older or 'no protocol'} must not be allowed (expected TLSv1.2 and TLSv1.3 only)"
    )


# --- across: the wire serves what the control plane holds ----------------------------


@check(
    id="CRT-13",
    title="The certificate served is one of the 443 listener's ACM certificates (its default or one it serves by SNI)",
    requirement="certificate",
    plane="across",
    severity="high",
    remediation="Find what answers instead of the ALB (a proxy, another load balancer, an old deployment) or attach the certificate clients should get.",
)
def test_served_certificate_is_the_listener_acm_certificate(tls_observation, https_listener, listener_acm_certificates, evidence):
    assert https_listener is not None, "the ALB has no HTTPS listener on port 443"
    assert listener_acm_certificates, f"the 443 listener {https_listener.arn} has no ACM certificate"
    served = tls_observation.leaf
    by_fingerprint = {c.sha256_fingerprint: c.arn for c in listener_acm_certificates.values()}
    evidence.add(
        "fingerprints (SHA-256)",
        {"served": served.sha256_fingerprint, "listener_acm_certificates": {arn: c.sha256_fingerprint for arn, c in listener_acm_certificates.items()}},
    )
    evidence.add("served ACM certificate", by_fingerprint.get(served.sha256_fingerprint))
    # The ALB serves the default certificate or one of its certificate list, by SNI: any of them is the ALB's.
    assert served.sha256_fingerprint in by_fingerprint, (
        f"{tls_observation.host} serves the certificate {served.sha256_fingerprint} (serial {served.serial}, "
        f"issuer {served.issuer!r}); it is none of the 443 listener's ACM certificates ({', '.join(by_fingerprint.values())})"
    )
