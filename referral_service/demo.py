"""`referral-service demo`: bring a running service's dashboard to life in a minute.

Against `--url` (a `make run` service with the demo secrets) it:

1. starts a callback receiver on 127.0.0.1:8099, where the demo sources' callback URLs
   point; the court's endpoint answers 503 to its first two calls (retried and then
   delivered), the commission's refuses its first call with 422 (the report goes FAILED,
   for staff to re-queue from the dashboard);
2. pushes the contract examples and generated referrals, signed as the court and the
   commission sign them, plus one invalid and one malformed push (refused, to replay);
3. signs in a demo operator (created in the configured database) and moves cases to
   outcomes through the API, which queues the reports the receiver then gets.

All personal data it generates is made up.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

import click
import requests
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from stdnum.cn import ric

from referral_service import create_app, db
from referral_service.auth.accounts import create_token, create_user, set_password
from referral_service.config import PROJECT_ROOT, Settings
from referral_service.intake.verify import sign_headers
from referral_service.localtime import LOCAL_TZ
from referral_service.models import User, utcnow

COURT, ARBITRATION = "gz-intermediate-court", "gz-arbitration"
DEMO_USER, DEMO_PASSWORD = "demo", "demo-password"
EXAMPLES = PROJECT_ROOT / "docs" / "examples"  # copies of the contract's examples
# How the receiver misbehaves at first: source -> (calls to refuse, status).
FIRST_ANSWERS = {COURT: (2, 503), ARBITRATION: (1, 422)}

_SURNAMES = "陈李张黄赵周吴徐孙马朱胡郭何林罗梁宋郑谢"
_GIVEN = ("小明", "建华", "丽娟", "志强", "海燕", "国庆", "雪梅", "伟", "芳", "敏")
_BANKS = ("某某银行股份有限公司广州分行", "某某消费金融有限公司", "某某小额贷款有限公司")
_INSURERS = ("某某人寿保险股份有限公司广东分公司", "某某财产保险股份有限公司广州分公司")


class CallbackReceiver:
    """The sources' side of delivery: verifies each callback's signature and answers."""

    def __init__(self, settings: Settings, port: int):
        self.secrets = {s.id: s.secret for s in settings.sources.all()}
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()

    def answer(self, source_id: str) -> int:
        """The status for the next call from the service for `source_id`."""
        with self.lock:
            self.calls[source_id] += 1
            refuse, status = FIRST_ANSWERS.get(source_id, (0, 200))
            return status if self.calls[source_id] <= refuse else 200

    def verified(self, source_id: str, body: bytes, headers: dict[str, str]) -> bool:
        """True when the callback carries a valid Standard Webhooks signature."""
        try:
            Webhook(self.secrets[source_id]).verify(body, headers, json_parse=False)
        except (WebhookVerificationError, KeyError):
            return False
        return True

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                source_id = self.path.rstrip("/").rsplit("/", 1)[-1]
                ok = receiver.verified(source_id, body, dict(self.headers.items()))
                status = receiver.answer(source_id) if ok else 401
                reply = b"ok" if status < 300 else b"not now"
                click.echo(
                    f"  callback from the service for {source_id}: "
                    f"{'signature ok' if ok else 'BAD SIGNATURE'}, answered {status}"
                )
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def _person(rng: random.Random) -> tuple[str, str, str]:
    name = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
    birth = datetime(1960, 1, 1) + timedelta(days=rng.randrange(365 * 40))
    stem = f"440106{birth:%Y%m%d}{rng.randrange(1000):03d}"
    phone = f"139{rng.randrange(10**8):08d}"
    return name, stem + ric.calc_check_digit(stem), phone


def court_referral(n: int, rng: random.Random, referred: datetime, deadline_days: int) -> bytes:
    """A generated `court-referral/1` referral."""
    name, id_number, phone = _person(rng)
    deadline = (referred + timedelta(days=deadline_days)).date()
    amount = f"{rng.randrange(5_000, 200_000)}.{rng.randrange(100):02d}"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Referral xmlns="urn:mediation:court-referral:1" version="1">
  <ReferralId>GZZY-DEMO-{n:06d}</ReferralId>
  <ReferralType>PRE_LITIGATION</ReferralType>
  <Court code="440100">广州市中级人民法院</Court>
  <CaseNumber>(2026)粤01民诉前调{9000 + n}号</CaseNumber>
  <CauseOfAction code="CREDIT_CARD">信用卡纠纷</CauseOfAction>
  <ReferredAt>{referred.astimezone(LOCAL_TZ).isoformat(timespec="seconds")}</ReferredAt>
  <Deadline>{deadline.isoformat()}</Deadline>
  <ClaimAmount currency="CNY">{amount}</ClaimAmount>
  <Summary>演示数据：信用卡分期及违约金争议。</Summary>
  <Parties>
    <Party role="PLAINTIFF" type="PERSON">
      <Name>{escape(name)}</Name>
      <IdNumber scheme="RESIDENT_ID">{id_number}</IdNumber>
      <Phone>{phone}</Phone>
    </Party>
    <Party role="DEFENDANT" type="ORGANIZATION">
      <Name>{escape(rng.choice(_BANKS))}</Name>
    </Party>
  </Parties>
</Referral>
""".encode()


def arbitration_referral(n: int, rng: random.Random, referred: datetime) -> bytes:
    """A generated `arbitration-referral/1` referral."""
    name, id_number, phone = _person(rng)
    document = {
        "format": "arbitration-referral/1",
        "referral_id": f"GZAC-DEMO-{n:04d}",
        "revision": 1,
        "commission": {"code": "GZAC", "name": "广州仲裁委员会"},
        "case_number": f"(2026)穗仲案字第{8000 + n}号",
        "category": "INSURANCE_CLAIM",
        "referred_at": referred.astimezone(LOCAL_TZ).isoformat(timespec="seconds"),
        "deadline": (referred + timedelta(days=15)).date().isoformat(),
        "claim": {"amount": f"{rng.randrange(1_000, 80_000)}.00", "currency": "CNY"},
        "summary": "演示数据：医疗费用理赔争议。",
        "parties": [
            {
                "role": "APPLICANT",
                "type": "PERSON",
                "name": name,
                "id_number": {"scheme": "RESIDENT_ID", "value": id_number},
                "phone": phone,
            },
            {"role": "RESPONDENT", "type": "ORGANIZATION", "name": rng.choice(_INSURERS)},
        ],
    }
    return json.dumps(document, ensure_ascii=False).encode()


class Client:
    """Talks to the running service as a source (signed pushes) and as staff (token)."""

    def __init__(self, url: str, settings: Settings, token: str):
        self.url, self.settings = url.rstrip("/"), settings
        self.http = requests.Session()
        self.staff = {"Authorization": f"Bearer {token}"}

    def push(self, source_id: str, body: bytes, what: str) -> dict[str, Any]:
        """Push `body` signed as the source would; print and return the answer."""
        source = self.settings.sources.get(source_id)
        headers = sign_headers(source.secret, body)
        headers["Content-Type"] = (
            "application/json" if source.kind == "arbitration" else "application/xml"
        )
        response = self.http.post(
            f"{self.url}/api/v1/sources/{source_id}/referrals",
            data=body,
            headers=headers,
            timeout=30,
        )
        click.echo(f"  push {what} to {source_id}: {response.status_code}")
        return response.json()

    def move(self, case_id: int, *steps: dict[str, Any]) -> None:
        """Post each transition in turn through the staff API."""
        for step in steps:
            response = self.http.post(
                f"{self.url}/api/v1/cases/{case_id}/transitions",
                json=step,
                headers=self.staff,
                timeout=30,
            )
            if response.status_code != 200:
                raise click.ClickException(
                    f"case {case_id} -> {step['to']}: {response.status_code} {response.text}"
                )
        click.echo(f"  case {case_id}: {' -> '.join(step['to'] for step in steps)}")


def demo_token(settings: Settings) -> str:
    """Create (or refresh) the demo operator in the configured database; a new API token."""
    app = create_app(settings)
    with app.app_context():
        session = db.session()
        user = session.query(User).filter_by(name=DEMO_USER).one_or_none()
        if user is None:
            user = create_user(session, DEMO_USER, "operator")
        set_password(user, DEMO_PASSWORD)
        user.failed_logins, user.locked_until, user.active = 0, None, True
        token = create_token(session, DEMO_USER)
        session.commit()
    app.extensions["db"].engine.dispose()
    return token


SETTLED = {
    "to": "SETTLED",
    "settlement_amount": "52000.00",
    "agreement_number": "ZH-TJ-2026-DEMO",
    "judicial_confirmation_requested": True,
}


def push_and_move(client: Client, rng: random.Random) -> None:
    """The demo's traffic: referrals in, refusals, outcomes out."""
    now = utcnow()
    click.echo("Pushing referrals as the court and the commission would:")
    client.push(
        COURT, (EXAMPLES / "court-referral.xml").read_bytes(), "the contract's court referral"
    )
    client.push(COURT, (EXAMPLES / "court-recall.xml").read_bytes(), "the contract's recall")
    arbitration = client.push(
        ARBITRATION,
        (EXAMPLES / "arbitration-referral.json").read_bytes(),
        "the contract's arbitration referral",
    )
    court_cases = [
        client.push(
            COURT, court_referral(n, rng, now - timedelta(days=days), 30), f"generated referral {n}"
        )
        for n, days in enumerate((1, 2, 3, 4, 5, 29, 40), start=1)
    ]
    arbitration_cases = [
        client.push(
            ARBITRATION,
            arbitration_referral(n, rng, now - timedelta(hours=n)),
            f"generated referral {n}",
        )
        for n in range(1, 4)
    ]
    invalid = (
        court_referral(99, rng, now, 30)
        .replace(b"<CaseNumber>", b"<CaseNumbr>")
        .replace(b"</CaseNumber>", b"</CaseNumbr>")
    )
    client.push(COURT, invalid, "an invalid referral (misspelt element)")
    client.push(COURT, b"<Referral><oops></Referral>", "a malformed body")

    click.echo("Moving cases through the API:")
    accept, mediate = {"to": "ACCEPTED"}, {"to": "IN_MEDIATION"}
    client.move(arbitration["case_id"], accept, mediate, SETTLED)
    client.move(court_cases[0]["case_id"], accept, mediate, SETTLED)
    client.move(
        court_cases[1]["case_id"],
        accept,
        mediate,
        {
            "to": "NOT_SETTLED",
            "reason_code": "NO_AGREEMENT",
            "reason": "双方未能就分期方案达成一致",
        },
    )
    client.move(court_cases[2]["case_id"], accept)
    client.move(
        court_cases[3]["case_id"],
        {"to": "DECLINED", "reason_code": "OUT_OF_SCOPE", "reason": "不属于本中心受理范围"},
    )
    client.move(
        arbitration_cases[0]["case_id"],
        accept,
        mediate,
        {"to": "WITHDRAWN", "reason_code": "APPLICANT_WITHDREW", "reason": "申请人撤回"},
    )


def run_demo(settings: Settings, url: str, receiver_port: int, duration: float | None) -> None:
    """Run the whole demo against the service at `url`; keep receiving until `duration` ends."""
    if not settings.secrets.demo:
        raise click.ClickException("the demo runs only with REFERRAL_DEMO=1 (the demo secrets)")
    try:
        requests.get(f"{url.rstrip('/')}/healthz", timeout=5).raise_for_status()
    except requests.RequestException as exc:
        raise click.ClickException(
            f"no service at {url} ({exc}); start it with `make run`"
        ) from exc
    try:
        receiver = CallbackReceiver(settings, receiver_port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on 127.0.0.1:{receiver_port}: {exc}") from exc
    click.echo(f"Receiving the service's callbacks on 127.0.0.1:{receiver_port}")
    try:
        push_and_move(Client(url, settings, demo_token(settings)), random.Random(2026))
        click.echo(
            f"\nOpen {url.rstrip('/')}/dashboard and sign in as {DEMO_USER} / {DEMO_PASSWORD}.\n"
            "The court's endpoint refuses its first two calls (503): watch the retry succeed.\n"
            "The commission's refused its first report (422): re-queue it from the Reports page.\n"
        )
        _wait(duration)
    finally:
        receiver.stop()


def _wait(duration: float | None) -> None:
    if duration is not None:
        time.sleep(duration)
        return
    click.echo("Receiving callbacks; Ctrl-C to stop.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        click.echo("stopped")
