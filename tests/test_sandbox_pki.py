"""The sandbox PKI: a chain that real TLS stacks accept, and each fault they refuse."""

from __future__ import annotations

import datetime
import pathlib
import socket
import ssl
import threading
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fixtures.sandbox.pki import LeafOptions, Pki, PkiFiles, make_pki

DOMAIN = "cloudproject.test"
NAMES = (DOMAIN, f"*.{DOMAIN}")
TIMEOUT = 3.0

# OpenSSL verify codes, so that each failing test proves the *intended* refusal.
HOSTNAME_MISMATCH = 62
UNABLE_TO_GET_ISSUER_LOCALLY = 20
SELF_SIGNED_IN_CHAIN = 19
CERT_HAS_EXPIRED = 10
EE_KEY_TOO_SMALL = 66


def _handshake(
    files: PkiFiles,
    hostname: str,
    *,
    cafile: pathlib.Path | None = None,
    tune_server: Callable[[ssl.SSLContext], None] | None = None,
) -> str | int:
    """Serve `files` on 127.0.0.1 and connect as a verifying client.

    Returns "ok" or the client's OpenSSL verify code.
    """
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if tune_server is not None:
        tune_server(server_context)
    server_context.load_cert_chain(files.cert_chain, files.key)
    client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_context.load_verify_locations(cafile=str(cafile or files.ca_bundle))
    assert client_context.check_hostname and client_context.verify_mode == ssl.CERT_REQUIRED

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)

    def serve_one() -> None:
        try:
            connection, _ = listener.accept()
            connection.settimeout(TIMEOUT)
            with server_context.wrap_socket(connection, server_side=True) as tls:
                tls.recv(1)  # wait for the client to hang up
        except (OSError, ssl.SSLError):
            pass  # the client refusing the certificate aborts the server side too

    server = threading.Thread(target=serve_one, daemon=True)
    server.start()
    try:
        with socket.create_connection(listener.getsockname(), timeout=TIMEOUT) as raw:
            with client_context.wrap_socket(raw, server_hostname=hostname):
                return "ok"
    except ssl.SSLCertVerificationError as error:
        return error.verify_code
    finally:
        server.join(TIMEOUT)
        listener.close()


@pytest.fixture(scope="module")
def good_pki() -> Pki:
    return make_pki(LeafOptions(NAMES))


@pytest.fixture(scope="module")
def good_files(good_pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> PkiFiles:
    return good_pki.write(tmp_path_factory.mktemp("good"))


def _certificates(path: pathlib.Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def _extension(certificate: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.Extension:
    return certificate.extensions.get_extension_for_class(kind)


# --- the compliant chain -------------------------------------------------------


@pytest.mark.parametrize("hostname", [DOMAIN, f"api.{DOMAIN}", f"API.{DOMAIN.upper()}"])
def test_chain_verifies_for_apex_and_one_label(good_files: PkiFiles, hostname: str) -> None:
    assert _handshake(good_files, hostname) == "ok"


def test_wildcard_does_not_cover_two_labels(good_files: PkiFiles) -> None:
    assert _handshake(good_files, f"a.b.{DOMAIN}") == HOSTNAME_MISMATCH


def test_files_hold_root_only_bundle_and_leaf_then_intermediate(
    good_pki: Pki, good_files: PkiFiles
) -> None:
    bundle = _certificates(good_files.ca_bundle)
    chain = _certificates(good_files.cert_chain)
    assert [c.subject for c in bundle] == [x509.load_pem_x509_certificate(good_pki.root_cert_pem).subject]
    assert len(chain) == 2
    assert chain[0].subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == DOMAIN
    assert chain[1].issuer == bundle[0].subject
    assert good_files.key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS8
    assert good_files.key.stat().st_mode & 0o077 == 0


def test_extensions_look_like_a_public_ca_chain(good_pki: Pki) -> None:
    root = x509.load_pem_x509_certificate(good_pki.root_cert_pem)
    intermediate = x509.load_pem_x509_certificate(good_pki.intermediate_cert_pem)
    leaf = x509.load_pem_x509_certificate(good_pki.leaf_cert_pem)

    assert root.issuer == root.subject
    assert _extension(root, x509.BasicConstraints).value.ca is True
    root_usage = _extension(root, x509.KeyUsage).value
    assert root_usage.key_cert_sign and root_usage.crl_sign

    constraints = _extension(intermediate, x509.BasicConstraints).value
    assert constraints.ca is True and constraints.path_length == 0
    assert intermediate.issuer == root.subject
    assert (
        _extension(intermediate, x509.AuthorityKeyIdentifier).value.key_identifier
        == _extension(root, x509.SubjectKeyIdentifier).value.digest
    )
    intermediate.verify_directly_issued_by(root)

    assert _extension(leaf, x509.BasicConstraints).value.ca is False
    assert _extension(leaf, x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName) == list(NAMES)
    assert list(_extension(leaf, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.SERVER_AUTH]
    usage = _extension(leaf, x509.KeyUsage).value
    assert usage.digital_signature and usage.key_encipherment  # RSA leaf by default
    assert isinstance(leaf.public_key(), rsa.RSAPublicKey) and leaf.public_key().key_size == 2048
    assert (
        _extension(leaf, x509.AuthorityKeyIdentifier).value.key_identifier
        == _extension(intermediate, x509.SubjectKeyIdentifier).value.digest
    )
    leaf.verify_directly_issued_by(intermediate)
    now = datetime.datetime.now(datetime.timezone.utc)
    assert leaf.not_valid_before_utc < now < leaf.not_valid_after_utc
    assert 89 <= (leaf.not_valid_after_utc - now).days <= 90


def test_each_pki_is_fresh(good_pki: Pki) -> None:
    other = make_pki(LeafOptions(NAMES))
    assert other.root_cert_pem != good_pki.root_cert_pem
    serials = {
        x509.load_pem_x509_certificate(pem).serial_number
        for pem in (good_pki.leaf_cert_pem, other.leaf_cert_pem, good_pki.root_cert_pem, other.root_cert_pem)
    }
    assert len(serials) == 4


def test_ec_leaf_serves_and_does_not_claim_key_encipherment(tmp_path: pathlib.Path) -> None:
    pki = make_pki(LeafOptions(NAMES, key="ec256"))
    leaf = x509.load_pem_x509_certificate(pki.leaf_cert_pem)
    assert isinstance(leaf.public_key(), ec.EllipticCurvePublicKey)
    assert _extension(leaf, x509.KeyUsage).value.key_encipherment is False
    assert _handshake(pki.write(tmp_path), f"api.{DOMAIN}") == "ok"


# --- the faults ----------------------------------------------------------------


def test_missing_intermediate_fails_verification(good_pki: Pki, tmp_path: pathlib.Path) -> None:
    files = good_pki.write(tmp_path, include_intermediate=False)
    assert len(_certificates(files.cert_chain)) == 1
    assert _handshake(files, f"api.{DOMAIN}") == UNABLE_TO_GET_ISSUER_LOCALLY


def test_untrusted_issuer_fails_only_for_want_of_trust(tmp_path: pathlib.Path) -> None:
    pki = make_pki(LeafOptions(NAMES, issuer="untrusted"))
    assert pki.untrusted_root_pem is not None and pki.untrusted_root_pem != pki.root_cert_pem
    files = pki.write(tmp_path)
    assert _handshake(files, f"api.{DOMAIN}") == SELF_SIGNED_IN_CHAIN
    # The chain itself is sound: trusting the self-made CA makes it verify.
    own_trust = tmp_path / "self-made.pem"
    own_trust.write_bytes(pki.untrusted_root_pem)
    assert _handshake(files, f"api.{DOMAIN}", cafile=own_trust) == "ok"


def test_expired_leaf_fails_verification(tmp_path: pathlib.Path) -> None:
    now = datetime.datetime.now(datetime.timezone.utc)
    pki = make_pki(
        LeafOptions(NAMES, not_before=now - datetime.timedelta(days=100), not_after=now - datetime.timedelta(days=10))
    )
    assert _handshake(pki.write(tmp_path), f"api.{DOMAIN}") == CERT_HAS_EXPIRED


def test_rsa1024_leaf_is_weak_and_refused_by_a_default_client(tmp_path: pathlib.Path) -> None:
    pki = make_pki(LeafOptions(NAMES, key="rsa1024"))
    assert x509.load_pem_x509_certificate(pki.leaf_cert_pem).public_key().key_size == 1024
    files = pki.write(tmp_path)
    # Python's defaults (OpenSSL security level 2) refuse to even load such a key,
    # so a server that serves it must lower its level - and a default client balks.
    with pytest.raises(ssl.SSLError, match="EE_KEY_TOO_SMALL"):
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(files.cert_chain, files.key)
    lowered = _handshake(files, f"api.{DOMAIN}", tune_server=lambda c: c.set_ciphers("DEFAULT:@SECLEVEL=1"))
    assert lowered == EE_KEY_TOO_SMALL


def test_sha1_signature_is_refused_with_value_error() -> None:
    with pytest.raises(ValueError, match="SHA-1"):
        make_pki(LeafOptions(NAMES, signature_hash="sha1"))


@pytest.mark.parametrize(
    "options",
    [
        LeafOptions(()),
        LeafOptions(NAMES, key="rsa512"),
        LeafOptions(NAMES, issuer="nobody"),
        LeafOptions(NAMES, not_after=datetime.datetime(2030, 1, 1)),  # naive: ambiguous
    ],
)
def test_bad_options_are_rejected(options: LeafOptions) -> None:
    with pytest.raises(ValueError):
        make_pki(options)
