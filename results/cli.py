"""``pb verify PACKAGE.zip``: check a certified package's signature and digests, and re-count it.

Prints ``OK`` and a short summary when everything checks out (exit status 0), otherwise one line
per difference and ``pb: error: …`` (exit status 1). An unreadable file or a bad ``--public-key``
is one ``pb: error:`` line with exit status 2, like every other ``pb`` command.
"""

from __future__ import annotations

from pathlib import Path

import click

from pb.cli_errors import EXIT_CHECK_FAILED, OneLineCommand

__all__ = ["verify_command"]


@click.command("verify", cls=OneLineCommand)
@click.argument("package", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--public-key",
    "public_key",
    help="The council's published key (64 hex digits, or a PEM file); "
    "default: the key named in the package.",
)
@click.pass_context
def verify_command(ctx: click.Context, package: Path, public_key: str | None) -> None:
    """Check a certified results package and re-count every district."""
    from results.signing import fingerprint, parse_public_key
    from results.verify import verify_package

    key = None
    if public_key:
        text = public_key
        candidate = Path(public_key)
        if len(public_key) != 64 and candidate.is_file():
            text = candidate.read_text("utf-8", "replace")
        try:
            key = parse_public_key(text)
        except ValueError as exc:
            raise click.ClickException(f"--public-key: {exc}") from None
    try:
        data = package.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"cannot read {package}: {exc.strerror or exc}") from None
    report = verify_package(data, key)
    if report.problems:
        for problem in report.problems:
            click.echo(problem)
        click.echo(
            f"pb: error: {package.name}: {len(report.problems)} problem(s); do not trust this package",
            err=True,
        )
        ctx.exit(EXIT_CHECK_FAILED)
    click.echo(f"OK: {package.name} ({report.kind}, {report.files} files)")
    click.echo(f"signed by key {report.public_key}")
    click.echo(f"fingerprint {fingerprint(report.public_key)}")
    if key is None:
        click.echo("compare this fingerprint with the one the council publishes")
