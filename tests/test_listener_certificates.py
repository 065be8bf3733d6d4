"""Which listener certificate the ALB serves for a host by SNI (fixtures.rules.listener_certificates), and the
sandbox's ALB stand-in choosing the same way on the wire."""

from __future__ import annotations

import socket
import ssl

from fixtures.rules.listener_certificates import serving_certificates, uncovered_hosts

DEFAULT, SITE, WWW_ONLY = "arn:default", "arn:site", "arn:www"
NAMES = {
    DEFAULT: ("cruddur-legacy.test", "*.cruddur-legacy.test"),
    SITE: ("cloudproject.test", "*.cloudproject.test"),
    WWW_ONLY: ("cloudproject.test", "www.cloudproject.test"),
}
HOSTS = ("cloudproject.test", "api.cloudproject.test", "www.cloudproject.test")


def test_a_list_certificate_matching_the_name_is_served_instead_of_the_default():
    for host in HOSTS:
        assert serving_certificates(host, DEFAULT, [SITE], NAMES) == (SITE,)
    assert uncovered_hosts(HOSTS, DEFAULT, [SITE], NAMES) == ()


def test_the_default_is_served_when_no_list_certificate_matches():
    assert serving_certificates("api.cloudproject.test", DEFAULT, [WWW_ONLY], NAMES) == (DEFAULT,)
    assert uncovered_hosts(HOSTS, DEFAULT, [WWW_ONLY], NAMES) == ("api.cloudproject.test",)
    assert serving_certificates("cloudproject.test", SITE, [], NAMES) == (SITE,)


def test_several_matching_list_certificates_may_each_be_served_and_unknown_names_never_match():
    assert serving_certificates("www.cloudproject.test", DEFAULT, [SITE, WWW_ONLY], NAMES) == (SITE, WWW_ONLY)
    assert serving_certificates("www.cloudproject.test", DEFAULT, ["arn:iam-cert"], NAMES) == (DEFAULT,)
    assert uncovered_hosts(HOSTS, None, [], NAMES) == HOSTS


def test_the_stand_in_serves_the_list_certificate_by_sni_and_the_default_without_it(tmp_path):
    from cryptography import x509

    from fixtures.sandbox.alb_behaviour import tls_context_for_policy
    from fixtures.sandbox.pki import LeafOptions, make_pki

    pki = make_pki(LeafOptions(names=NAMES[SITE]), others=(LeafOptions(names=NAMES[DEFAULT]),))
    files = pki.write(tmp_path / "site")
    default_chain, default_key = tmp_path / "default.pem", tmp_path / "default-key.pem"
    default_chain.write_bytes(pki.other_leaves[0][0] + pki.intermediate_cert_pem)
    default_key.write_bytes(pki.other_leaves[0][1])
    server = tls_context_for_policy(None, default_chain, default_key, ((files.cert_chain, files.key, NAMES[SITE]),))

    def served_names(sni: str | None) -> list[str]:
        listener = socket.create_server(("127.0.0.1", 0))
        client = ssl.create_default_context(cafile=str(files.ca_bundle))
        client.check_hostname = False
        with listener:
            connection = socket.create_connection(listener.getsockname(), timeout=5)
            accepted, _peer = listener.accept()
            import threading

            done = threading.Thread(target=lambda: _handshake(server, accepted), daemon=True)
            done.start()
            with client.wrap_socket(connection, server_hostname=sni) as tls:
                leaf = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))
            done.join(5)
        return [n.value for n in leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value]

    assert served_names("api.cloudproject.test") == list(NAMES[SITE])
    assert served_names("other.example") == list(NAMES[DEFAULT])
    assert served_names(None) == list(NAMES[DEFAULT])


def _handshake(context: ssl.SSLContext, accepted: socket.socket) -> None:
    try:
        with context.wrap_socket(accepted, server_side=True) as tls:
            tls.recv(1)
    except OSError:
        pass
