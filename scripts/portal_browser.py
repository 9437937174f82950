#!/usr/bin/env python3
"""The developer portal in a real browser (Debian's Chromium, headless, through chromedriver):
the whole partner journey, one screenshot per step in target/portal-screenshots/.

sign up -> sandbox credentials (checked against TRAINING) -> create an application -> invite a
developer -> the invitation e-mail read from the mail outbox -> the developer accepts with the
one-time password -> sees the application and gets a TRAINING credential -> "try it" answers 200
from TRAINING -> the owner submits for production -> the operator approves -> the owner issues the
PRODUCTION credential and sees its secret once -> revokes it.

Starts `sandgate up` (the binary named by SANDGATE_BIN, else ./sandgate) on free loopback ports
with a fresh data directory. Exits non-zero on the first failure, naming the step.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "target" / "portal-screenshots"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Journey:
    def __init__(self, portal: str, admin: str, training: str, operator: str):
        self.portal, self.admin, self.training, self.operator = portal, admin, training, operator
        self.step = 0

    def browser(self) -> webdriver.Chrome:
        options = Options()
        options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000",
                     "--disable-gpu", "--no-first-run", "--password-store=basic"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
        driver.implicitly_wait(0.5)
        return driver

    def shot(self, driver: webdriver.Chrome, name: str) -> None:
        self.step += 1
        driver.save_screenshot(str(SHOTS / f"{self.step:02d}-{name}.png"))

    def check(self, condition: bool, what: str, driver: webdriver.Chrome = None) -> None:
        if not condition:
            if driver is not None:
                driver.save_screenshot(str(SHOTS / f"FAILED-{self.step + 1:02d}.png"))
                print(driver.page_source[:4000], file=sys.stderr)
            raise SystemExit(f"portal_browser: FAIL at step {self.step + 1}: {what}")

    def text(self, driver, element_id: str, what: str) -> str:
        found = driver.find_elements(By.ID, element_id)
        self.check(bool(found), what, driver)
        return found[0].text

    def admin_get(self, path: str) -> dict:
        request = urllib.request.Request(f"{self.admin}{path}", headers={"authorization": f"Bearer {self.operator}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def fill(self, driver, values: dict) -> None:
        for element_id, value in values.items():
            field = driver.find_element(By.ID, element_id)
            field.clear()
            field.send_keys(value)

    def submit(self, driver, form_action: str) -> None:
        self.click(driver, driver.find_element(By.CSS_SELECTOR, f"form[action='{form_action}'] button[type=submit]"))

    @staticmethod
    def click(driver, element, alert: bool = False) -> None:
        """Clicks something that loads a new page, and waits until the new page is there."""
        page = driver.find_element(By.TAG_NAME, "html")
        element.click()
        if alert:
            WebDriverWait(driver, 5).until(expected_conditions.alert_is_present())
            driver.switch_to.alert.accept()
        WebDriverWait(driver, 10).until(lambda _: Journey.replaced(page))

    @staticmethod
    def replaced(page) -> bool:
        """Whether the old page's root is gone. Chromium sometimes reports a node of a document
        being torn down as "does not belong to the document" (a plain WebDriverException) rather
        than as stale; both mean the new page has replaced it."""
        try:
            page.is_enabled()
            return False
        except (StaleElementReferenceException, WebDriverException):
            return True

    def run(self) -> None:
        owner = self.browser()
        developer = self.browser()
        operator = self.browser()
        try:
            self.journey(owner, developer, operator)
        finally:
            for driver in (owner, developer, operator):
                driver.quit()

    def journey(self, owner, developer, operator) -> None:
        # 1. Sign up.
        owner.get(f"{self.portal}/signup")
        self.shot(owner, "signup")
        self.fill(owner, {"f-name": "Acme Payments", "f-owner.name": "Olivia Owner", "f-owner.email": "owner@acme.test",
                          "f-password": "correct horse battery staple"})
        owner.find_element(By.NAME, "terms").click()
        self.submit(owner, "/signup")
        self.check("Your account is ready" in owner.page_source and "Acme Payments" in owner.page_source,
                   "sign-up lands on the dashboard", owner)
        self.shot(owner, "dashboard")

        # 2. Sandbox credentials, instantly; they work against TRAINING.
        trust = owner.find_element(By.ID, "f-trust_list").get_attribute("value")
        self.check(trust.strip() == "127.0.0.1", f"the trust list is prefilled with the browser's address: {trust!r}", owner)
        started = time.monotonic()
        self.submit(owner, "/sandbox")
        took = time.monotonic() - started
        client_id = self.text(owner, "client-id", "the sandbox credential is shown")
        secret = self.text(owner, "client-secret", "the sandbox secret is shown")
        self.check(client_id.startswith("trn_") and secret, "the sandbox credential and its secret are shown", owner)
        self.check(took < 1.0, f"sandbox credentials in under a second (took {took:.2f} s)", owner)
        self.shot(owner, "sandbox-credentials")
        token = self.token(client_id, secret)
        self.check(bool(token), "the sandbox credential gets a TRAINING token")

        # 3. Create an application.
        owner.get(f"{self.portal}/applications/new")
        self.fill(owner, {"f-name": "acme-pos", "f-description": "Till integration <b>bold?</b>",
                          "f-trust_list": "127.0.0.1/32"})
        Select(owner.find_element(By.ID, "f-type")).select_by_value("generic")
        for box in owner.find_elements(By.CSS_SELECTOR, "input[name=scopes]"):
            if box.get_attribute("value") in ("merchant", "customer"):
                box.click()
        self.shot(owner, "new-application")
        self.submit(owner, "/applications/new")
        self.check("acme-pos" in owner.title and "Till integration &lt;b&gt;bold?&lt;/b&gt;" in owner.page_source,
                   "the application page shows it, escaped", owner)
        app_id = owner.current_url.split("/applications/")[1].split("?")[0]
        self.shot(owner, "application")

        # 4. Invite a developer.
        self.fill(owner, {"f-email": "dev@acme.test"})
        self.submit(owner, f"/applications/{app_id}/invitations")
        self.check("Invitation sent" in owner.page_source and "dev@acme.test" in owner.page_source,
                   "the invitation is listed", owner)
        self.shot(owner, "invited")

        # 5. The e-mail, from the outbox.
        mails = self.admin_get("/v1/mail?to=dev%40acme.test")["mails"]
        self.check(len(mails) == 1 and mails[0]["kind"] == "invitation", f"one invitation e-mail: {mails}")
        body = mails[0]["body"]
        otp = re.search(r"one-time password: (\S+)", body)
        link = re.search(r"(http://\S+/invitations/\S+)", body)
        self.check(otp is not None and link is not None, f"the e-mail carries the password and the link: {body}")

        # 6. The developer accepts.
        developer.get(link.group(1))
        self.shot(developer, "accept-invitation")
        self.fill(developer, {"f-otp": otp.group(1), "f-password": "developer passphrase 42"})
        self.click(developer, developer.find_element(By.CSS_SELECTOR, "form[action^='/invitations/'] button[type=submit]"))
        self.check("acme-pos" in developer.title, "the developer lands on the application", developer)
        self.check("Revoke acme-pos" not in developer.page_source, "a developer gets no owner controls", developer)
        self.shot(developer, "developer-application")

        # 7. The developer's TRAINING credential.
        self.click(developer, developer.find_element(By.CSS_SELECTOR, f"form[action='/applications/{app_id}/credentials'] button"))
        dev_client = self.text(developer, "client-id", "the developer's credential is shown")
        self.check(dev_client.startswith("trn_"), "the developer sees its TRAINING credential once", developer)
        self.shot(developer, "developer-credential")

        # 8. Try it: customers/search against TRAINING through the gateway.
        developer.get(f"{self.portal}/docs/pos-api-v2.5")
        self.shot(developer, "docs")
        section = None
        for candidate in developer.find_elements(By.CSS_SELECTOR, "section.op"):
            if "/customers/search" in candidate.find_element(By.TAG_NAME, "h2").text and " GET " in f" {candidate.find_element(By.TAG_NAME, 'h2').text} ":
                section = candidate
                break
        self.check(section is not None, "the docs list GET customers/search", developer)
        section.find_element(By.CSS_SELECTOR, "details.try > summary").click()
        for name, value in (("first_name", "John"), ("last_name", "Smith"), ("dob", "1980-01-01")):
            field = section.find_element(By.CSS_SELECTOR, f"input[name='p.{name}']")
            field.clear()
            field.send_keys(value)
        self.click(developer, section.find_element(By.CSS_SELECTOR, "form.try-form button[type=submit]"))
        found = developer.find_elements(By.CSS_SELECTOR, ".result h4")
        self.check(bool(found), "try it shows an answer", developer)
        result = found[0].text
        developer.execute_script("arguments[0].scrollIntoView()", developer.find_element(By.CSS_SELECTOR, "details.try[open]"))
        self.check(result.endswith("200 OK"), f"try it answers 200 from TRAINING: {result}", developer)
        self.shot(developer, "try-it")

        # 9. The owner submits for production.
        owner.get(f"{self.portal}/applications/{app_id}/review")
        button = owner.find_element(By.CSS_SELECTOR, "button[data-checklist]")
        self.check(not button.is_enabled(), "the submit button waits for the checklist", owner)
        self.fill(owner, {"f-overview": "Acme's tills look up customers and authorize purchases.",
                          "f-scope.merchant": "The till acts for the merchant.",
                          "f-scope.customer": "The till looks up the customer's account.",
                          "f-security_measures": "Secrets in a vault; TLS everywhere.",
                          "f-post_deployment_plan": "On-call rota; rollback by revoking the credential."})
        self.check(button.is_enabled(), "the submit button is enabled once the checklist is filled", owner)
        self.shot(owner, "review-checklist")
        self.click(owner, button)
        self.check("Submitted for production review" in owner.page_source, "the review is submitted", owner)

        # 10. The operator approves.
        operator.get(f"{self.portal}/operator/signin")
        self.fill(operator, {"f-token": self.operator})
        self.submit(operator, "/operator/signin")
        self.check("Review queue" in operator.page_source and "acme-pos" in operator.page_source,
                   "the operator sees the application in the queue", operator)
        self.shot(operator, "operator-queue")
        self.click(operator, operator.find_element(By.LINK_TEXT, "acme-pos"))
        self.check("The till acts for the merchant." in operator.page_source, "the operator reads the submission", operator)
        self.submit(operator, f"/operator/applications/{app_id}/approve")
        self.check("Approved." in operator.page_source, "approved", operator)
        self.shot(operator, "operator-approved")
        operator.get(f"{self.portal}/operator/mail")
        self.check("Approved for production: acme-pos" in operator.page_source, "the owner was e-mailed", operator)
        self.shot(operator, "mail-outbox")

        # 11. The owner issues the PRODUCTION credential: its secret is shown once.
        owner.get(f"{self.portal}/applications/{app_id}")
        self.check("approved" in owner.page_source, "the owner sees the approval", owner)
        Select(owner.find_element(By.ID, "f-env")).select_by_value("production")
        self.click(owner, owner.find_element(By.CSS_SELECTOR, f"form[action='/applications/{app_id}/credentials'] button"))
        prod_client = self.text(owner, "client-id", "the PRODUCTION credential is shown")
        prod_secret = self.text(owner, "client-secret", "the PRODUCTION secret is shown")
        self.check(prod_client.startswith("prd_") and prod_secret, "the PRODUCTION secret is shown", owner)
        self.shot(owner, "production-secret")
        owner.get(f"{self.portal}/applications/{app_id}")
        self.check(prod_secret not in owner.page_source and prod_client in owner.page_source,
                   "the secret is not shown again", owner)

        # 12. Revoke it.
        self.click(owner, owner.find_element(By.CSS_SELECTOR, f"form[action='/credentials/{prod_client}/revoke'] button"), alert=True)
        self.check("Revoked." in owner.page_source, "the credential is revoked", owner)
        self.shot(owner, "revoked")
        activity = self.admin_get(f"/v1/applications/{app_id}/activity?event=credential.revoked")["events"]
        self.check(activity and activity[0]["actor"] == "member:owner@acme.test",
                   f"the activity log names the acting member: {activity}")

    def token(self, client_id: str, secret: str) -> str:
        data = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": client_id,
                                       "client_secret": secret}).encode()
        request = urllib.request.Request(f"{self.training}/pos-api/v2.5/oauth/token", data=data, method="POST",
                                         headers={"x-reference-id": "3f2504e0-4f89-41d3-9a0c-0305e82c3301"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read()).get("access_token", "")


def main() -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    binary = os.environ.get("SANDGATE_BIN") or str(ROOT / "sandgate")
    with tempfile.TemporaryDirectory(prefix="sandgate-portal-") as data_dir:
        ports = [free_port() for _ in range(4)]
        cmd = [binary, "up", "--json", "--data-dir", data_dir, "--specs-dir", str(ROOT / "specs"),
               "--training-listen", f"127.0.0.1:{ports[0]}", "--production-listen", f"127.0.0.1:{ports[1]}",
               "--admin-listen", f"127.0.0.1:{ports[2]}", "--portal-listen", f"127.0.0.1:{ports[3]}"]
        log = open(SHOTS / "sandgate.log", "w")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True,
                                env={**os.environ, "RUST_LOG": "warn"})
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line.strip():
                log.flush()
                raise SystemExit(f"portal_browser: FAIL: sandgate up printed no banner:\n{(SHOTS / 'sandgate.log').read_text()}")
            banner = json.loads(line)
            if not banner.get("portal_url"):
                raise SystemExit(f"portal_browser: FAIL: sandgate up --json has no portal_url: {banner}")
            operator = (Path(data_dir) / "secrets" / "operator.token").read_text().strip()
            journey = Journey(banner["portal_url"], banner["admin_url"], banner["training_url"], operator)
            journey.run()
            print(f"portal_browser: ok ({journey.step} screenshots in {SHOTS.relative_to(ROOT)})")
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
