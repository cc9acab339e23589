"""Settings load in both modes: the embedded default and production with PostgreSQL and Redis."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'db': s.DATABASES['default']['ENGINE'], 'broker': s.CELERY_BROKER_URL, "
    "'cache': s.CACHES['default']['BACKEND'], 'email': s.EMAIL_BACKEND, 'debug': s.DEBUG}))"
)
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "a-long-production-secret-key-that-is-only-for-this-test-0123456789",
    "ALLOWED_HOSTS": "loyalty.example.com",
    "SITE_URL": "https://loyalty.example.com",
    "DATABASE_URL": "postgres://patron@db.example.com:5432/patron",
    "REDIS_URL": "redis://redis.example.com:6379/0",
    "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587",
}


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "EMAIL_URL", "DEBUG", "SECRET_KEY",
                        "DJANGO_ALLOW_ASYNC_UNSAFE"}}  # the browser tests set it for themselves
    env["DJANGO_SETTINGS_MODULE"] = "loyalty_site.settings"
    env.update(extra)
    return env


def run(args, env):
    return subprocess.run(  # noqa: S603
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_embedded_defaults_need_no_server(tmp_path):
    result = run(["-c", PROBE], clean_env(PATRON_VAR_DIR=str(tmp_path)))
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded == {
        "db": "django.db.backends.sqlite3",
        "broker": "filesystem://",
        "cache": "django.core.cache.backends.locmem.LocMemCache",
        "email": "django.core.mail.backends.filebased.EmailBackend",
        "debug": True,
    }


def test_production_uses_postgres_redis_and_smtp():
    result = run(["-c", PROBE], clean_env(**PRODUCTION_ENV))
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded == {
        "db": "django.db.backends.postgresql",
        "broker": "redis://redis.example.com:6379/0",
        "cache": "django.core.cache.backends.redis.RedisCache",
        "email": "django.core.mail.backends.smtp.EmailBackend",
        "debug": False,
    }


def test_production_refuses_to_start_without_a_secret_key():
    env = clean_env(**{k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"})
    result = run(["-c", PROBE], env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_secret_key_can_come_from_a_file(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("a-file-secret-key-of-sufficient-length-and-randomness-0123456789abc\n")
    env = clean_env(**{k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"},
                    SECRET_KEY_FILE=str(key_file))
    probe = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"
    result = run(["-c", probe], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == key_file.read_text().strip()


def test_check_deploy_passes_with_the_documented_production_settings():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                 clean_env(**PRODUCTION_ENV))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
