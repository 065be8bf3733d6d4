"""Requirement `dns-alias`: the domain's aliases resolve to the ALB.

The write-up moved the domain's name servers from GoDaddy to a Route 53
hosted zone and created A alias records for the apex and `api.` pointing at
the load balancer ("by using an alias it is possible to point to the load
balancer without defining a URL"). On the control plane each public host must
have that alias and nothing else sending its traffic elsewhere; across the
planes every configured resolver must answer with the ALB's own addresses and
return the zone's name servers.
"""

from __future__ import annotations

from fixtures.catalogue.checkmeta import check
from fixtures.model.elbv2 import LoadBalancer
from fixtures.model.route53 import RecordSet
from fixtures.model.names import alias_target_name, route53_name
from fixtures.rules.zones import the_public_zone

# Record types that send a client somewhere.
ADDRESSING_TYPES = ("A", "AAAA", "CNAME")


def _aliases_the_alb(record: RecordSet, load_balancer: LoadBalancer) -> bool:
    """An alias whose target is this ALB: same DNS name (case, trailing dot and `dualstack.` aside) and zone ID."""
    alias = record.alias
    return (
        alias is not None
        and alias_target_name(alias.dns_name) == alias_target_name(load_balancer.dns_name)
        and alias.hosted_zone_id.upper() == load_balancer.canonical_hosted_zone_id.upper()
    )


def _describe(records: list[RecordSet]) -> str:
    parts = []
    for record in records:
        if record.alias is not None:
            parts.append(f"{record.type} alias to {record.alias.dns_name} (zone {record.alias.hosted_zone_id})")
        else:
            parts.append(f"{record.type} {', '.join(record.values)}")
    return "; ".join(parts)


def _alb_evidence(load_balancer: LoadBalancer) -> dict:
    return {"dns_name": load_balancer.dns_name, "canonical_hosted_zone_id": load_balancer.canonical_hosted_zone_id}


@check(
    id="DNS-01",
    title="The host has an A alias record (AAAA too when dualstack) to this ALB",
    requirement="dns-alias",
    plane="control",
    severity="high",
    remediation="In the hosted zone, create an A record for the host as an alias to the ALB (Alias to Application Load Balancer).",
)
def test_host_has_an_alias_record_to_the_alb(public_hosted_zones, load_balancer, alb_is_dualstack, target, public_host, evidence):
    zone = the_public_zone(public_hosted_zones, target.domain)
    records = list(zone.records_named(public_host))
    evidence.add("hosted zone", zone.as_evidence())
    evidence.add("records for the host", [record.as_evidence() for record in records])
    evidence.add("load balancer", {**_alb_evidence(load_balancer), "dualstack": alb_is_dualstack})
    for rtype in ("A", "AAAA") if alb_is_dualstack else ("A",):
        of_type = [record for record in records if record.type == rtype]
        assert of_type, (
            f"zone {zone.name} ({zone.id}) has no {rtype} record for {public_host}; "
            f"expected an alias to {load_balancer.dns_name}"
        )
        assert any(_aliases_the_alb(record, load_balancer) for record in of_type), (
            f"{public_host} has {_describe(of_type)}; expected an {rtype} alias to {load_balancer.dns_name} "
            f"(zone {load_balancer.canonical_hosted_zone_id})"
        )


@check(
    id="DNS-02",
    title="No other record for the host sends traffic elsewhere",
    requirement="dns-alias",
    plane="control",
    severity="high",
    remediation="Delete the host's A/AAAA/CNAME records that do not alias this ALB (weighted, failover and fixed-address ones included).",
)
def test_no_other_record_sends_the_host_elsewhere(public_hosted_zones, load_balancer, target, public_host, evidence):
    zone = the_public_zone(public_hosted_zones, target.domain)
    records = list(zone.records_named(public_host))
    evidence.add("records for the host", [record.as_evidence() for record in records])
    evidence.add("load balancer", _alb_evidence(load_balancer))
    elsewhere = [r for r in records if r.type in ADDRESSING_TYPES and not _aliases_the_alb(r, load_balancer)]
    assert not elsewhere, (
        f"besides any alias to {load_balancer.dns_name}, zone {zone.id} sends {public_host} to: {_describe(elsewhere)}"
    )


@check(
    id="DNS-03",
    title="Through every resolver the host resolves only to the ALB's addresses",
    requirement="dns-alias",
    plane="across",
    severity="high",
    remediation="Point the host at the ALB with an alias record; look for a stale record or another DNS provider still answering.",
)
def test_host_resolves_to_the_alb_through_every_resolver(alias_resolution, evidence):
    # Each resolver's answer is compared with the ALB's addresses *through that
    # resolver at that moment*: ALB addresses rotate and resolvers may cache
    # different subsets, so demanding identical answers from all resolvers would
    # fail healthy sites. Resolvers disagree in a way that matters when one of
    # them gives an address outside the ALB's or no address at all: that fails.
    host = alias_resolution.host
    evidence.add("answers", [view.as_evidence() for view in alias_resolution.views])
    answers = {view.resolver: sorted(view.addresses(view.host)) for view in alias_resolution.views}
    evidence.add("resolvers agree", len({tuple(addresses) for addresses in answers.values()}) == 1)
    problems = []
    for view in alias_resolution.views:
        host_addresses, alb_addresses = view.addresses(view.host), view.addresses(view.alb)
        if not host_addresses:
            statuses = ", ".join(f"{answer.rtype} {answer.status}" for answer in view.host)
            problems.append(f"via {view.resolver}: {host} has no address ({statuses})")
        elif not alb_addresses:
            problems.append(f"via {view.resolver}: the ALB's name {alias_resolution.alb_dns_name} has no address to compare with")
        elif view.outside_alb:
            problems.append(
                f"via {view.resolver}: {host} resolves to {sorted(view.outside_alb)}, not among the ALB's {sorted(alb_addresses)}"
            )
    assert not problems, "; ".join(problems)


@check(
    id="DNS-04",
    title="The parent zone delegates the domain to the hosted zone's name servers, and resolvers return them",
    requirement="dns-alias",
    plane="across",
    severity="high",
    remediation="At the registrar, set the domain's name servers to exactly the hosted zone's four (the move from the old DNS host must be complete).",
)
def test_the_domain_is_delegated_to_the_hosted_zone_name_servers(
    domain_delegation, domain_ns_answers, public_hosted_zones, target, evidence
):
    zone = the_public_zone(public_hosted_zones, target.domain)
    expected = sorted({route53_name(server) for server in zone.name_servers})
    evidence.add("hosted zone delegation set", expected)
    # What the registrar set is what the parent zone's servers hold; a recursive
    # resolver answers with the zone's own NS records instead (RFC 2181 5.4.1), so
    # it can look right while half the internet still asks the old DNS host.
    evidence.add("delegation held by the parent zone", [answer.as_evidence() for answer in domain_delegation])
    evidence.add("NS answers of the resolvers", [answer.as_evidence() for answer in domain_ns_answers])
    assert expected, f"the hosted zone {zone.id} reports no delegation set"
    problems = []
    for answer in (*domain_delegation, *domain_ns_answers):
        observed = sorted({route53_name(value) for value in answer.values})
        if observed != expected:
            extra, missing = sorted(set(observed) - set(expected)), sorted(set(expected) - set(observed))
            problems.append(f"via {answer.resolver}: {answer.status} {observed} (not the zone's: {extra}; missing: {missing})")
    assert not problems, (
        f"the name servers {target.domain} is delegated to are not the hosted zone's {expected}: " + "; ".join(problems)
    )
