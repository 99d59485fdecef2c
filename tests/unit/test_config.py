"""Configuration: defaults, overrides, validation messages, secrets from the environment."""

from pathlib import Path

import pytest

from referral_service.config import ConfigError, load_settings
from tests.conftest import TEST_ENV


def test_defaults_load_with_both_demo_sources():
    settings = load_settings(env=TEST_ENV)
    assert settings.server["port"] == 8000
    assert [s.id for s in settings.sources.all()] == ["gz-arbitration", "gz-intermediate-court"]


def test_environment_overrides_file_values(tmp_path: Path):
    file = tmp_path / "site.toml"
    file.write_text("[delivery]\nbatch_size = 10\n")
    env = {
        **TEST_ENV,
        "REFERRAL_CONFIG": str(file),
        "REFERRAL_DELIVERY_BATCH_SIZE": "20",
        "PORT": "9000",
        "DATABASE_URL": "sqlite:////tmp/x.db",
    }
    settings = load_settings(env=env)
    assert settings.delivery["batch_size"] == 20
    assert settings.server["port"] == 9000
    assert settings.database_url == "sqlite:////tmp/x.db"


def test_config_file_value_applies(tmp_path: Path):
    file = tmp_path / "site.toml"
    file.write_text("[delivery]\nbatch_size = 10\n")
    assert (
        load_settings(env={**TEST_ENV, "REFERRAL_CONFIG": str(file)}).delivery["batch_size"] == 10
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PORT": "eighty"}, "server.port"),
        ({"LOG_FORMAT": "xml"}, "log.format"),
        ({"DATABASE_URL": "mysql://x"}, "database.url"),
    ],
)
def test_bad_value_names_its_key(env, named):
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_settings(env={**TEST_ENV, **env})


def test_unknown_key_in_config_file_is_refused(tmp_path: Path):
    file = tmp_path / "site.toml"
    file.write_text("[delivery]\nbatch_sise = 10\n")
    with pytest.raises(ConfigError, match=r"delivery\.batch_sise"):
        load_settings(env={**TEST_ENV, "REFERRAL_CONFIG": str(file)})


def test_missing_secret_is_named_and_demo_mode_fills_it():
    env = {k: v for k, v in TEST_ENV.items() if k != "SECRET_KEY"}
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        load_settings(env=env)
    assert load_settings(env={**env, "REFERRAL_DEMO": "1"}).secrets.demo is True


def test_source_secret_comes_from_environment():
    env = {**TEST_ENV, "REFERRAL_SOURCE_GZ_ARBITRATION_SECRET": "whsec_b3ZlcnJpZGRlbg=="}
    source = load_settings(env=env).sources.get("gz-arbitration")
    assert source.secret == "whsec_b3ZlcnJpZGRlbg=="
    assert "whsec" not in repr(source)


def test_source_keys_are_overridden_from_environment():
    env = {
        **TEST_ENV,
        "REFERRAL_SOURCE_GZ_INTERMEDIATE_COURT_CALLBACK_URL": "https://court.example/cb",
        "REFERRAL_SOURCE_GZ_INTERMEDIATE_COURT_DELIVERY_MAX_ATTEMPTS": "3",
        "REFERRAL_SOURCE_GZ_INTERMEDIATE_COURT_DELIVERY_BACKOFF_SECONDS": "1, 2",
    }
    source = load_settings(env=env).sources.get("gz-intermediate-court")
    assert source.callback_url == "https://court.example/cb"
    assert source.delivery.max_attempts == 3
    assert source.delivery.backoff_seconds == [1, 2]


def test_secret_in_source_file_is_refused(tmp_path: Path):
    (tmp_path / "x-court.toml").write_text(
        'id = "x-court"\nname = "X"\nkind = "court"\nformat = "court-referral/1"\n'
        'mapping = "court-referral-1"\nreport_format = "court-outcome/1"\nsecret = "whsec_x"\n'
    )
    with pytest.raises(ConfigError, match="REFERRAL_SOURCE_X_COURT_SECRET"):
        load_settings(env={**TEST_ENV, "REFERRAL_SOURCES_DIR": str(tmp_path)})


def test_invalid_source_names_file_and_key(tmp_path: Path):
    (tmp_path / "y-court.toml").write_text(
        'id = "y-court"\nname = "Y"\nkind = "tribunal"\nformat = "court-referral/1"\n'
        'mapping = "m"\nreport_format = "court-outcome/1"\n'
    )
    env = {
        **TEST_ENV,
        "REFERRAL_SOURCES_DIR": str(tmp_path),
        "REFERRAL_SOURCE_Y_COURT_SECRET": "whsec_eA==",
    }
    with pytest.raises(ConfigError, match=r"y-court\.toml.*\n.*kind"):
        load_settings(env=env)


def test_alert_channel_secrets_are_refused_in_a_config_file(tmp_path: Path):
    file = tmp_path / "site.toml"
    file.write_text('[alerts]\nsmtp_password = "hunter22"\n')
    with pytest.raises(ConfigError, match="REFERRAL_ALERTS_SMTP_PASSWORD"):
        load_settings(env={**TEST_ENV, "REFERRAL_CONFIG": str(file)})
    env = {**TEST_ENV, "REFERRAL_ALERTS_SMTP_PASSWORD": "hunter22"}
    assert load_settings(env=env).alerts["smtp_password"] == "hunter22"
