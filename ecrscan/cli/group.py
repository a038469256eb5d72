"""The command group and its global options, accepted before the command and after it
(``ecrscan -q report`` and ``ecrscan report -q``), as the AWS CLI accepts them.

Each global option is described once (:data:`GLOBALS`).  Before the command it is the
group's, with its environment variable and default; after the command it is the
command's, without either (the group has read them already), and overrides the group's
value (``-v`` adds up).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import click

from ecrscan import __version__
from ecrscan.cli.app import AppContext, Seconds, aws_errors, check_endpoint, split_list
from ecrscan.cli.diagnostics import configure_logging, set_verbosity
from ecrscan.cli.helptext import Group
from ecrscan.cli.options import FLAG, Decorator, stack
from ecrscan.core.control import DEFAULT_TIMEOUTS
from ecrscan.core.targets import check_regions

Apply = Callable[[AppContext, Any], None]


@dataclass(frozen=True)
class GlobalOption:
    """One global option: its flags, help, environment variables and Click settings
    (the group's), and how a value given after the command changes the run."""

    decls: tuple[str, ...]
    help: str
    envvar: tuple[str, ...]
    apply: Apply
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def dest(self) -> str:
        return self.decls[-1].lstrip("-").replace("-", "_")

    def before(self) -> Decorator:
        env = ", ".join(self.envvar)
        envvar = list(self.envvar) if len(self.envvar) > 1 else self.envvar[0]
        return click.option(
            *self.decls, envvar=envvar, help=f"{self.help} Env: {env}.", **self.settings
        )

    def after(self, multiple: bool = False, shown: str = "") -> Decorator:
        """The option after the command; ``multiple``: it may be repeated (each value
        kept, for the command to judge); ``shown``: its help in the command's help (else
        only the group's lists it)."""
        settings = {k: v for k, v in self.settings.items() if k in ("type", "metavar")}
        if multiple:
            settings["multiple"] = True
        elif self.settings.get("count"):
            settings["count"] = True
        elif self.settings.get("is_flag"):
            settings["is_flag"] = True
        return click.option(
            *self.decls,
            f"after_{self.dest}",
            expose_value=False,
            callback=_after(self.apply),
            help=f"{shown} Env: {', '.join(self.envvar)}.",
            hidden=not shown,
            **settings,
        )


def _after(apply: Apply) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value in (None, 0, False, ()):
            return  # not given after the command
        try:
            apply(ctx.ensure_object(AppContext), value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None

    return callback


def _regions(app: AppContext, values: tuple[str, ...] | str) -> None:
    regions = check_regions(split_list((values,) if isinstance(values, str) else values))
    if not regions:  # --region '' (or only commas and spaces)
        raise ValueError("no region given: expected a name such as eu-west-1")
    app.regions = regions
    app.region = regions[0]


def _env_region(ctx: click.Context) -> None:
    """A region from AWS_REGION / AWS_DEFAULT_REGION must look like one too: a usage
    error naming the variable, before botocore sees it (``us-east-1; rm -rf /``)."""
    if ctx.get_parameter_source("region") is not click.core.ParameterSource.ENVIRONMENT:
        return
    name = next(n for n in REGION.envvar if os.environ.get(n))  # Click's choice: the first set
    try:
        check_regions([os.environ[name]])
    except ValueError as exc:
        hint = f"'--region' (set by the environment variable {name})"
        raise click.BadParameter(str(exc), ctx=ctx, param_hint=hint) from None


def _endpoint(app: AppContext, url: str) -> None:
    app.endpoint_url = check_endpoint(click.get_current_context(), url, "after_endpoint_url")


def _verbose(app: AppContext, count: int) -> None:
    app.verbose += count
    set_verbosity(app.verbose)


REGION = GlobalOption(
    ("--region",),
    "AWS region (rescan and report: repeatable).",
    ("AWS_REGION", "AWS_DEFAULT_REGION"),
    _regions,
    {"metavar": "REGION"},
)
GLOBALS = (
    GlobalOption(
        ("--profile",),
        "AWS named profile.",
        ("AWS_PROFILE",),
        lambda app, value: setattr(app, "profile", value),
    ),
    GlobalOption(
        ("--endpoint-url",),
        "Send AWS calls to this endpoint (e.g. a local emulator).",
        ("AWS_ENDPOINT_URL",),
        _endpoint,
    ),
    GlobalOption(
        ("--connect-timeout",),
        "Seconds to wait for a connection to AWS.",
        ("ECRSCAN_CONNECT_TIMEOUT",),
        lambda app, value: setattr(app, "timeouts", replace(app.timeouts, connect=value)),
        {
            "type": Seconds(0.1, 300),
            "metavar": "SECONDS",
            "default": DEFAULT_TIMEOUTS.connect,
            "show_default": True,
        },
    ),
    GlobalOption(
        ("--read-timeout",),
        "Seconds to wait for each answer from AWS. A call is tried 3 times, so it fails "
        "after at most 3 x (connect + read timeout) plus 3 s of backoff (108 s with the "
        "defaults).",
        ("ECRSCAN_READ_TIMEOUT",),
        lambda app, value: setattr(app, "timeouts", replace(app.timeouts, read=value)),
        {
            "type": Seconds(0.1, 900),
            "metavar": "SECONDS",
            "default": DEFAULT_TIMEOUTS.read,
            "show_default": True,
        },
    ),
    GlobalOption(
        ("--call-timeout",),
        "Seconds one AWS call may take in all, connect to last byte, retries included.",
        ("ECRSCAN_CALL_TIMEOUT",),
        lambda app, value: setattr(app, "timeouts", replace(app.timeouts, call=value)),
        {
            "type": Seconds(0.1, 3600),
            "metavar": "SECONDS",
            "default": DEFAULT_TIMEOUTS.call,
            "show_default": True,
        },
    ),
    GlobalOption(
        ("-v", "--verbose"),
        "More diagnostics on stderr (-vv for AWS request logs).",
        ("ECRSCAN_VERBOSE",),
        _verbose,
        {"count": True},
    ),
    GlobalOption(
        ("-q", "--quiet"),
        "No progress bar and no notices; errors only.",
        ("ECRSCAN_QUIET",),
        lambda app, value: setattr(app, "quiet", True),
        {"is_flag": True, "type": FLAG},
    ),
)

# Every command takes the global options after it too; repos also takes --region (rescan
# and report have a repeatable --region of their own).
global_options = stack(*(option.after() for option in GLOBALS))
region_option = REGION.after(multiple=True, shown="The AWS region.")
# Below the command's own options: the global ones, the run's context, AWS errors.
command_setup = stack(global_options, click.pass_obj, aws_errors)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@stack(
    click.option(
        *REGION.decls,
        multiple=True,
        envvar=list(REGION.envvar),
        metavar="REGION",
        help=f"{REGION.help} Env: {', '.join(REGION.envvar)}.",
    ),
    *(option.before() for option in GLOBALS),
)
@click.version_option(__version__, "--version", prog_name="ecrscan")
@click.pass_context
def cli(ctx: click.Context, /, region: tuple[str, ...], **values: Any) -> None:
    """Keep AWS ECR vulnerability scans honest: rescan stale images, judge findings.

    Credentials come from the standard AWS chain (environment, profile, SSO, instance
    role).  Exit codes: 0 done, 1 findings above thresholds, 2 usage error, 3 the work
    is incomplete (docs/exit-codes.md).  Docs: docs/index.md.

    \b
    Examples:
      ecrscan rescan --expiry 7d --dry-run
      ecrscan report --fail-on HIGH --latest
      ecrscan scan "$REPO:$GIT_SHA" --fail-on HIGH
    """
    app = ctx.ensure_object(AppContext)
    app.region = (region[0] if region else None) or app.region
    if ctx.get_parameter_source("region") is click.core.ParameterSource.COMMANDLINE:
        # checked here, not in a callback: AWS_REGION / AWS_DEFAULT_REGION stay botocore's
        try:
            _regions(app, region)
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param_hint="'--region'") from None
    _env_region(ctx)
    app.profile = values["profile"] or app.profile
    if values["endpoint_url"] is not None:
        app.endpoint_url = check_endpoint(ctx, values["endpoint_url"])
    app.timeouts = replace(
        app.timeouts,
        connect=values["connect_timeout"],
        read=values["read_timeout"],
        call=values["call_timeout"],
    )
    app.verbose = values["verbose"]
    app.quiet = values["quiet"]
    configure_logging(ctx, app.verbose)
