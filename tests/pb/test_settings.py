from __future__ import annotations

from dataclasses import replace

import pytest

from pb.errors import ConfigError
from pb.settings import DEV_SECRET_KEY, Settings

STRONG_SECRET = "Zk3q8Vn1Lr5Tx9Wb2Hc6Jd0Mf4Pg7Ys-Qa_"


def test_defaults_from_an_empty_environment():
    s = Settings.from_env({})
    assert s.env == "dev"
    assert s.database_url == "sqlite+aiosqlite:///./pb.sqlite3"
    assert s.is_sqlite
    assert s.secret_key == DEV_SECRET_KEY
    assert (s.host, s.port, s.workers) == ("127.0.0.1", 8000, 1)
    assert s.session_max_age == 8 * 3600
    assert (s.login_max_failures, s.login_window) == (5, 900)
    assert s.media_dir == "./var/media"
    assert s.https is False and s.cookie_secure is False
    assert s.smtp_url is None
    assert s.lang == "en"


def test_reads_every_variable():
    s = Settings.from_env(
        {
            "PB_ENV": "prod",
            "PB_DATABASE_URL": "postgresql+asyncpg://pb:pw@db.example:5432/pb",
            "PB_SECRET_KEY": STRONG_SECRET,
            "PB_HOST": "0.0.0.0",
            "PB_PORT": "8080",
            "PB_WORKERS": "2",
            "PB_HTTPS": "yes",
            "PB_SESSION_MAX_AGE": "3600",
            "PB_LOGIN_MAX_FAILURES": "3",
            "PB_LOGIN_WINDOW": "60",
            "PB_ARGON2_TIME_COST": "2",
            "PB_ARGON2_MEMORY_COST": "1024",
            "PB_MEDIA_DIR": "/srv/media",
            "PB_SMTP_URL": "smtp+starttls://user:pw@mail.example:587",
            "PB_MAIL_FROM": "budget@city.example",
            "PB_LANG": "pt-BR",
        }
    )
    assert not s.is_sqlite and s.is_prod and s.cookie_secure
    assert (s.port, s.workers, s.login_max_failures, s.argon2_memory_cost) == (8080, 2, 3, 1024)
    assert s.smtp_url == "smtp+starttls://user:pw@mail.example:587"


def test_empty_values_count_as_unset():
    assert Settings.from_env({"PB_PORT": "", "PB_SMTP_URL": "  "}) == Settings()


def test_repr_hides_secrets():
    s = Settings(secret_key="x" * 40, smtp_url="smtp://u:hunter2@mail.example")
    assert "x" * 40 not in repr(s) and "hunter2" not in repr(s)


def test_prod_is_cookie_secure_even_without_https():
    assert Settings(env="prod", secret_key=STRONG_SECRET).cookie_secure


@pytest.mark.parametrize(
    ("secret", "needle"),
    [
        (None, "PB_SECRET_KEY is required"),
        (DEV_SECRET_KEY, "development default"),
        ("short-but-random-9f8e", "too weak"),
        ("a" * 40, "too weak"),
    ],
)
def test_prod_refuses_missing_weak_or_dev_secret(secret, needle):
    environ = {"PB_ENV": "prod"}
    if secret is not None:
        environ["PB_SECRET_KEY"] = secret
    with pytest.raises(ConfigError) as info:
        Settings.from_env(environ)
    message = str(info.value)
    assert needle in message
    assert "\n" not in message


def test_dev_accepts_the_dev_secret_and_test_env_is_allowed():
    assert Settings.from_env({"PB_ENV": "test"}).env == "test"


@pytest.mark.parametrize(
    "url",
    [
        "mysql://u:p@h/db",
        "sqlite:///./pb.sqlite3",
        "postgresql://u:p@h/db",
        "postgresql+psycopg://u:p@h/db",
        "not a url",
        "postgresql+asyncpg://u:p@h:notaport/db",
        "postgresql+asyncpg://u:p@h:5432",
    ],
)
def test_malformed_database_url_is_one_line(url):
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"PB_DATABASE_URL": url})
    message = str(info.value)
    assert message.startswith("PB_DATABASE_URL")
    assert "\n" not in message
    assert ":p@" not in message  # never echo a password


@pytest.mark.parametrize("port", ["abc", "0", "65536", "-1", "80.5"])
def test_bad_port(port):
    with pytest.raises(ConfigError, match=r"^PB_PORT must be an integer from 1 to 65535"):
        Settings.from_env({"PB_PORT": port})


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PB_WORKERS", "0"),
        ("PB_LOGIN_MAX_FAILURES", "many"),
        ("PB_ARGON2_MEMORY_COST", "8"),
        ("PB_HTTPS", "maybe"),
        ("PB_ENV", "staging"),
        ("PB_SMTP_URL", "http://mail.example"),
        ("PB_MAIL_FROM", "nobody"),
        ("PB_LANG", "English"),
    ],
)
def test_other_bad_values_name_their_variable(variable, value):
    with pytest.raises(ConfigError, match=f"^{variable}"):
        Settings.from_env({variable: value})


def test_direct_construction_and_replace_are_checked_too():
    with pytest.raises(ConfigError):
        Settings(env="prod")
    with pytest.raises(ConfigError):
        replace(Settings(), port=0)
    with pytest.raises(ConfigError):
        Settings(workers=True)  # type: ignore[arg-type]


def test_settings_are_frozen():
    s = Settings()
    with pytest.raises(AttributeError):
        s.port = 1  # type: ignore[misc]
