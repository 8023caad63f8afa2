"""The console in a real browser: Debian's chromium, headless, over WebDriver.

Run by scripts/browser against a Gavel it started (BASE, ADMIN_TOKEN in the environment)
after `gavel demo` filled it with real cases. Each check raises on failure; screenshots go
to SCREENSHOTS (Docs/console/).
"""
import json
import os
import sys
import urllib.request

from axe_selenium_python import Axe
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

BASE = os.environ["BASE"]
ADMIN = os.environ["ADMIN_TOKEN"]
SHOTS = os.environ.get("SCREENSHOTS", "Docs/console")
failures = []


def wait_for(condition, seconds):
    """Polls `condition` until it holds or `seconds` pass; answers whether it held."""
    import time
    deadline = time.monotonic() + seconds
    while True:
        try:
            if condition():
                return True
        except Exception:
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def check(condition, what):
    print(("    ok: " if condition else "    FAILED: ") + what)
    if not condition:
        failures.append(what)


def api(method, path, token, body=None):
    request = urllib.request.Request(
        BASE + path, method=method, data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read() or b"null")


def open_lot():
    """A lot open since a minute ago, through the API: answers (lot ID, a bidder's token)."""
    import datetime
    now = datetime.datetime.now(datetime.timezone.utc)
    stamp = lambda delta: (now + delta).strftime("%Y-%m-%dT%H:%M:%SZ")
    consignor = api("POST", "/v1/consignors", ADMIN, {"name": "Board Finance", "currency": "CNY",
                                                      "policy": {"notice": {"minDays": 0}}})
    manager = api("POST", "/v1/users", ADMIN, {"name": "Board manager", "role": "manager", "consignorId": consignor["id"]})["token"]
    case = api("POST", "/v1/cases", manager, {
        "consignorId": consignor["id"], "loanNumber": "BOARD-1", "borrower": {"name": "Board Borrower"}, "guarantors": [],
        "balances": {"principal": 6000000, "interest": 0, "fees": 0, "perDiemInterest": 0, "asOf": now.strftime("%Y-%m-%d")},
        "lienholders": [], "credits": []})
    vehicle = api("POST", f"/v1/cases/{case['id']}/vehicles", manager, {
        "vin": "1FTFW1ET9DFC10312", "make": "Ford", "model": "F-150", "year": 2013, "mileageKm": 120000, "hasKeys": True,
        "titleStatus": "clean", "repossessedOn": now.strftime("%Y-%m-%d")})
    appraisal = api("POST", f"/v1/vehicles/{vehicle['id']}/appraisals", ADMIN, {
        "valuationDate": now.strftime("%Y-%m-%d"), "conditionGrade": 3.0, "marketValue": 5000000, "liquidationValue": 3500000,
        "reason": "browser test"})
    api("POST", f"/v1/appraisals/{appraisal['id']}/approve", manager)
    lot = api("POST", "/v1/lots", manager, {"vehicleId": vehicle["id"], "startsAt": stamp(datetime.timedelta(minutes=-1)),
                                             "endsAt": stamp(datetime.timedelta(days=1))})
    dealer = api("POST", "/v1/users", ADMIN, {"name": "Board dealer", "role": "bidder"})
    api("POST", f"/v1/lots/{lot['id']}/deposits", ADMIN, {"bidderId": dealer["id"], "amount": lot["depositAmount"],
                                                          "reference": "BOARD-DEP"})
    return lot, dealer["token"]


def browser():
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(flag)
    options.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def sign_in(driver, token):
    driver.get(BASE + "/console/sign-in")
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "form[action='/console/sign-in'] button[type=submit]").click()


def screenshot(driver, name):
    """The whole page, from its top."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, max(900, height + 40))
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(os.path.join(SHOTS, name))
    driver.set_window_size(1280, 900)


def accessible(driver, page):
    axe = Axe(driver)
    axe.inject()
    results = axe.run()
    grave = [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]
    check(not grave, f"axe finds no serious or critical violation on {page}"
          + ("" if not grave else ": " + "; ".join(f"{v['id']} ({v['impact']}): {v['help']}" for v in grave)))


def main():
    os.makedirs(SHOTS, exist_ok=True)
    manager = browser()
    bidder_browser = browser()
    try:
        print("- a wrong token is refused beside its field")
        sign_in(manager, "not-a-token-gavel-knows")
        wait_for(lambda: manager.find_elements(By.ID, "token-error"), 5)
        error = manager.find_elements(By.ID, "token-error")
        check(bool(error) and "not known" in error[0].text, "the sign-in error stands beside the token field")
        accessible(manager, "the sign-in page")

        print("- the admin signs in and sees the dashboard")
        sign_in(manager, ADMIN)
        check(wait_for(lambda: manager.current_url.rstrip("/").endswith("/console"), 5), "signed in, on the dashboard")
        heading = manager.find_element(By.TAG_NAME, "h1").text
        check(heading == "Disposals", f"the dashboard's heading ({heading})")
        rows = manager.find_elements(By.CSS_SELECTOR, "section[aria-labelledby=pipeline-title] tbody tr")
        check(len(rows) == 8, f"eight stages in the pipeline table ({len(rows)})")
        closed = [r.text for r in rows if r.text.startswith("Closed")]
        check(bool(closed) and closed[0].split()[1] != "0", f"the demo's closed cases are counted ({closed})")
        check(len(manager.find_elements(By.CSS_SELECTOR, "svg.chart")) == 2, "two server-drawn SVG charts")
        accessible(manager, "the dashboard")
        screenshot(manager, "dashboard.png")

        print("- the lot board follows a bid without a reload")
        lot, dealer_token = open_lot()
        manager.get(BASE + "/console/board")
        row = manager.find_element(By.CSS_SELECTOR, f"tr[data-lot-id='{lot['id']}']")
        wait_for(lambda: "Live" in manager.find_element(By.ID, "board-status").text, 5)
        placed = api("POST", f"/v1/lots/{lot['id']}/bids", dealer_token, {"maxAmount": lot["minimumNextBid"] + 500000})
        price = f"{placed['currentPrice'] // 100:,}.{placed['currentPrice'] % 100:02d}"
        seen = wait_for(lambda: row.find_element(By.CSS_SELECTOR, "[data-field=price]").text == price, 1.0)
        check(seen, f"the board shows the new price {price} within 1 s, without a reload")
        check(row.find_element(By.CSS_SELECTOR, "[data-field=bidCount]").text == "1", "and the bid count")
        left = row.find_element(By.CSS_SELECTOR, "[data-field=endsAt]").text
        check(left.count(":") == 2, f"the time left counts down ({left})")
        accessible(manager, "the lot board")
        screenshot(manager, "board.png")

        print("- the language toggle")
        manager.get(BASE + "/console")
        manager.find_element(By.CSS_SELECTOR, "p.lang a").click()
        check(wait_for(lambda: manager.find_element(By.TAG_NAME, "h1").text == "处置总览", 5), "the dashboard in Chinese")
        manager.get(BASE + "/console")
        check(manager.find_element(By.TAG_NAME, "h1").text == "处置总览", "Chinese is remembered")
        manager.get(BASE + "/console?lang=en")

        print("- a bidder sees the lots, never a reserve, and no staff page")
        dealer = api("POST", "/v1/users", ADMIN, {"name": "Browser dealer", "role": "bidder"})
        sign_in(bidder_browser, dealer["token"])
        check(wait_for(lambda: bidder_browser.current_url.endswith("/console/lots"), 5), "the bidder lands on the lots")
        check("reserve" not in bidder_browser.page_source.lower(), "no reserve anywhere in the bidder's page")
        accessible(bidder_browser, "the lots page")
        bidder_browser.get(BASE + "/console/reports/pipeline.csv")
        check("Not for your role" in bidder_browser.page_source, "a staff report is a 403 page for a bidder")

        print("- a form posted without its CSRF token is refused")
        manager.execute_script("document.querySelector('form.sign-out input[name=csrf]').value = 'forged'")
        manager.find_element(By.CSS_SELECTOR, "form.sign-out button").click()
        # The click returns before the answer's page has loaded: wait for it.
        check(wait_for(lambda: "Form refused" in manager.page_source, 5), "the forged sign-out is refused")
        manager.get(BASE + "/console")
        check(manager.find_element(By.TAG_NAME, "h1").text == "Disposals", "and the session is still there")
        manager.find_element(By.CSS_SELECTOR, "form.sign-out button").click()
        check(wait_for(lambda: manager.current_url.endswith("/console/sign-in"), 5), "a real sign-out ends on the sign-in page")
    finally:
        manager.quit()
        bidder_browser.quit()
    if failures:
        print(f"browser: {len(failures)} failed")
        sys.exit(1)
    print("browser: every check passed")


if __name__ == "__main__":
    main()
