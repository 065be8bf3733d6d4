"""Values kept outside `environment` (issue 19, case 6): which `secrets` the audit may read, and what it
says about the others. The detection matrix audits the trap (plain String parameters) and the fault
(SecureString: could not verify)."""

from __future__ import annotations

from fixtures.model.ecs import Container, ContainerValues
from fixtures.rules.parameter_sources import source_of, unreadable_type


def test_where_a_value_from_points():
    assert source_of("arn:aws:secretsmanager:us-east-1:123456789012:secret:cruddur/urls-AbCdEf") == "secretsmanager"
    assert source_of("arn:aws:ssm:us-east-1:123456789012:parameter/cruddur/backend-flask/FRONTEND_URL") == "ssm"
    assert source_of("/cruddur/backend-flask/FRONTEND_URL") == "ssm"  # a parameter named without an ARN


def test_only_plain_parameters_are_read():
    assert unreadable_type("String") is None and unreadable_type("StringList") is None
    assert "SecureString" in unreadable_type("SecureString")


def test_the_task_definition_names_its_secrets_sources_and_environment_files():
    container = Container.from_api({
        "name": "backend-flask",
        "secrets": [{"name": "FRONTEND_URL", "valueFrom": "/cruddur/FRONTEND_URL"}],
        "environmentFiles": [{"value": "arn:aws:s3:::cruddur-config/backend.env", "type": "s3"}],
    })
    assert container.secrets == ("FRONTEND_URL",)
    assert container.secret_sources == (("FRONTEND_URL", "/cruddur/FRONTEND_URL"),)
    assert container.environment_files == ("arn:aws:s3:::cruddur-config/backend.env",)


def test_a_value_that_cannot_be_read_is_unknown_never_missing():
    values = ContainerValues(
        "backend-flask",
        values=(("BACKEND_URL", "https://api.example.test"),),
        unreadable=(("FRONTEND_URL", "access denied: the audit role needs ssm:GetParameters"),),
        environment_files=(),
    )
    assert values.value("BACKEND_URL") == "https://api.example.test" and values.unknown("BACKEND_URL") is None
    assert "access denied" in values.unknown("FRONTEND_URL")
    assert values.unknown("CORS_ORIGINS") is None  # not set anywhere the task definition says: known unset
    with_files = ContainerValues("backend-flask", (), (), ("arn:aws:s3:::cruddur-config/backend.env",))
    assert "environment file" in with_files.unknown("FRONTEND_URL")
