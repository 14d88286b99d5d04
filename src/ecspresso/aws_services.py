"""The AWS services whose botocore models the image keeps; the other ~430 are pruned at build time.

One list for two readers: the Dockerfile's build stage (scripts/prune-botocore.py deletes every
other ``botocore/data/<service>``) and tests/test_image_models.py, which derives the services the
code calls by scanning src/ecspresso and the ones botocore's credential providers create, and fails
when either set is not listed here. Calling a new service means adding it here.
"""

from __future__ import annotations

#: services the product creates clients for (or loads the model of)
CALLED = frozenset({
    "application-autoscaling",  # autoscaling.py, commands/status.py
    "cloudformation",  # plugins/cloudformation.py: cfn_output, cfn_export
    "codedeploy",  # CODE_DEPLOY controller
    "ecs",
    "ecr",  # verify: ECR images
    "elbv2",  # explain.py: target health of a failed service; verify: target groups
    "events",  # inuse.py: EventBridge targets pinning a revision
    "iam",  # verify: roles and their trust policies
    "lambda",  # verify: lifecycle hook functions
    "logs",  # awslogs.py: container log lines (run, tasks logs, failure explanations)
    "resourcegroupstaggingapi",  # failed_marks.py
    "s3",  # plugins/tfstate.py: s3:// state; verify: environment files
    "scheduler",  # inuse.py: EventBridge Scheduler schedules pinning a revision
    "secretsmanager",  # plugins/secretsmanager.py; verify: secrets
    "ssm",  # plugins/ssm.py; verify: secrets
    "sts",  # aws.py: --assume-role-arn; verify: the execution role
})  # fmt: skip

#: services botocore's own credential providers create clients for: sts (assume-role profiles,
#: web identity), sso (SSO profiles), sso-oidc (SSO token refresh), signin (``aws login`` profiles)
CREDENTIALS = frozenset({"signin", "sso", "sso-oidc", "sts"})

KEEP = CALLED | CREDENTIALS
