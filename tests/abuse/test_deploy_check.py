"""`manage.py check --deploy` passes with exactly the production settings docs/deployment.md
tells an operator to export: read from the page, so the page and the settings cannot drift."""

import re
import shlex

from ..loyalty_site.test_settings import ROOT, clean_env, run


def documented_production_env():
    page = (ROOT / "docs" / "deployment.md").read_text()
    block = re.search(r"^export (.+?)\n(?=\S)", page, re.MULTILINE | re.DOTALL).group(1)
    return dict(word.split("=", 1) for word in shlex.split(block.replace("\\\n", " ")))


def test_the_documented_production_settings_are_all_there():
    env = documented_production_env()
    assert env["DEBUG"] == "false"
    assert {"SECRET_KEY_FILE", "ALLOWED_HOSTS", "SITE_URL", "DATABASE_URL", "REDIS_URL",
            "EMAIL_URL"} <= set(env)


def test_check_deploy_is_clean_with_the_documented_production_settings(tmp_path):
    env = documented_production_env()
    key_file = tmp_path / "secret_key"  # stands in for /etc/patron/secret_key
    key_file.write_text("a-production-secret-key-for-this-test-only-0123456789-abcdefghijkl\n")
    env["SECRET_KEY_FILE"] = str(key_file)

    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], clean_env(**env))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr
