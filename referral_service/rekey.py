"""Key rotation: re-encrypt personal data and raw bodies under the current data key.

To rotate: put the new key first in `REFERRAL_DATA_KEYS`, keeping the old one after it;
restart; run `referral-service data rekey`; once it reports nothing left under older
keys, drop the old key from the variable.
"""

from __future__ import annotations

from sqlalchemy import LargeBinary, Text, func, or_, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from referral_service import crypto
from referral_service.models import InboundMessage, Party

# Every encrypted column, by table; the column type encrypts on write.
ENCRYPTED = ((InboundMessage, ("body",)), (Party, ("id_number", "phone", "address")))


def _under_older_key(model, names: tuple[str, ...], kid: str):
    """SQL condition: a stored value of these columns does not start with `kid:`."""
    conditions = []
    for name in names:
        column = getattr(model, name)
        raw_type = LargeBinary if isinstance(column.type.impl, LargeBinary) else Text
        prefix = f"{kid}:".encode() if raw_type is LargeBinary else f"{kid}:"
        stored = func.substr(type_coerce(column, raw_type), 1, len(prefix))
        conditions.append(column.is_not(None) & (stored != type_coerce(prefix, raw_type)))
    return or_(*conditions)


def count_stale(db: Session) -> int:
    """How many rows still hold a value encrypted under an older key."""
    kid = crypto.keyring().current_kid
    return sum(
        db.scalar(
            select(func.count()).select_from(model).where(_under_older_key(model, names, kid))
        )
        for model, names in ENCRYPTED
    )


def rekey(db: Session, batch_size: int = 500) -> int:
    """Re-encrypt every row still under an older key, committing per batch; return the count."""
    kid = crypto.keyring().current_kid
    done = 0
    for model, names in ENCRYPTED:
        query = select(model).where(_under_older_key(model, names, kid)).limit(batch_size)
        while rows := db.scalars(query).all():
            for row in rows:
                for name in names:
                    if getattr(row, name) is not None:
                        flag_modified(row, name)
            db.commit()
            done += len(rows)
    return done
