from click.testing import CliRunner

from ecrscan.cli import cli


def test_version_and_help():
    runner = CliRunner()
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("ecrscan, version ")
    result = runner.invoke(cli, ["rescan", "--help"])
    assert result.exit_code == 0
    assert "ECR_IMAGES_DURATION_DELTA" in result.output
