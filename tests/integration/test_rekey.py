"""Key rotation: `data rekey` moves every encrypted value to the current key."""

import base64

from click.testing import CliRunner
from sqlalchemy import LargeBinary, Text, select, type_coerce

from referral_service import create_app, db
from referral_service.cli import cli
from referral_service.config import load_settings
from referral_service.models import InboundMessage, Party
from tests.builders import build_case, build_inbound
from tests.conftest import TEST_ENV, make_settings

NEW_KEY = "k2:" + base64.b64encode(b"a-brand-new-data-key-32-bytes!!!").decode()


def _key_ids(app) -> list[str]:
    """The key id in front of every stored encrypted value, as the database holds it."""
    with app.app_context():
        s = db.session()
        ids = s.scalars(
            select(type_coerce(Party.id_number, Text)).where(Party.id_number.is_not(None))
        )
        bodies = s.scalars(select(type_coerce(InboundMessage.body, LargeBinary)))
        values = [*ids, *(bytes(body).decode("latin-1") for body in bodies)]
    return [value.split(":", 1)[0] for value in values]


def test_rekey_moves_every_value_to_the_new_key_and_the_old_key_can_go(database_url, monkeypatch):
    old_app = create_app(make_settings(database_url))
    with old_app.app_context():
        build_case(db.session())
        build_inbound(db.session(), body=b"<Referral>440106198503151233</Referral>")
    assert set(_key_ids(old_app)) == {"demo1"}
    old_app.extensions["db"].engine.dispose()

    both_keys = f"{NEW_KEY},{TEST_ENV['REFERRAL_DATA_KEYS']}"
    for key, value in {
        **TEST_ENV,
        "DATABASE_URL": database_url,
        "REFERRAL_DATA_KEYS": both_keys,
    }.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(cli, ["data", "rekey"])
    assert result.exit_code == 0, result.output
    assert "re-encrypted 3 row(s); 0 left under older keys" in result.output

    new_only = {**TEST_ENV, "REFERRAL_DATA_KEYS": NEW_KEY, "DATABASE_URL": database_url}
    new_app = create_app(load_settings(env=new_only))  # the old key is gone
    assert _key_ids(new_app) == ["k2"] * 3  # two ID numbers, one raw body
    with new_app.app_context():
        s = db.session()
        numbers = sorted(p.id_number for p in s.scalars(select(Party)))
        assert numbers == ["440106198503151233", "91440101MA59ABC124"]
        assert s.scalar(select(InboundMessage.body)).startswith(b"<Referral>")
    new_app.extensions["db"].engine.dispose()
