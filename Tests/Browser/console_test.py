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
    # The click returns before the answer: wait for the next page, whose cookie the next step needs.
    submit(driver, "form[action='/console/sign-in'] button[type=submit]")


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


def money(minor):
    return f"{minor // 100:,}.{minor % 100:02d}"


def fill(driver, field_id, value):
    """Types into a field, or sets a date, time or select the way a user's picker would."""
    element = driver.find_element(By.ID, field_id) if field_id.startswith("f-") else driver.find_element(By.CSS_SELECTOR, field_id)
    if element.tag_name == "select" or element.get_attribute("type") in ("date", "datetime-local"):
        driver.execute_script("arguments[0].value = arguments[1]", element, value)
    else:
        element.clear()
        element.send_keys(value)


def submit(driver, selector):
    """Clicks a submit button and waits until the answer's page has replaced this one."""
    old = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, selector).click()
    wait_for(lambda: old.id != driver.find_element(By.TAG_NAME, "html").id, 10)


def disposal(manager, second, bidder_browser):
    """A manager opens a case with its vehicle and appraisal in the browser, a second
    manager approves it and lists the lot after seeing its prices; a dealer bids from its
    own browser and the first manager's board shows the price within 1 s."""
    import datetime
    import uuid
    now = datetime.datetime.now(datetime.timezone.utc)
    today = now.strftime("%Y-%m-%d")
    tag = uuid.uuid4().hex[:6].upper()
    consignor = api("POST", "/v1/consignors", ADMIN, {"name": f"Console Finance {tag}", "currency": "CNY",
                                                      "policy": {"notice": {"minDays": 0}}})
    first = api("POST", "/v1/users", ADMIN, {"name": "Li Na", "role": "manager", "consignorId": consignor["id"]})["token"]
    other = api("POST", "/v1/users", ADMIN, {"name": "Chen Jie", "role": "manager", "consignorId": consignor["id"]})["token"]
    dealer = api("POST", "/v1/users", ADMIN, {"name": "Dealer Zhao", "role": "bidder"})

    print("- a manager opens a case in the console; the API's field errors stand beside their fields")
    sign_in(manager, first)
    manager.get(BASE + "/console/cases/new")
    fill(manager, "f-loanNumber", f"LN-CONSOLE-{tag}")
    fill(manager, "f-balances-principal", "60,000.00")
    fill(manager, "f-guarantors-0--name", "Zhou Min")
    submit(manager, "form[action='/console/cases'] button[type=submit]")
    error = manager.find_elements(By.ID, "f-borrower-name-error")
    check(bool(error) and "required" in error[0].text, "a missing borrower is an error beside the borrower field")
    check(manager.find_element(By.ID, "f-loanNumber").get_attribute("value") == f"LN-CONSOLE-{tag}", "what was typed is kept")
    accessible(manager, "the new case form with an error")
    fill(manager, "f-borrower-name", "Sun Yue")
    fill(manager, "f-balances-principal", "60,000.00x")
    submit(manager, "form[action='/console/cases'] button[type=submit]")
    check(bool(manager.find_elements(By.ID, "f-balances-principal-error")), "an amount that is not one is refused beside it")
    fill(manager, "f-balances-principal", "60,000.00")
    submit(manager, "form[action='/console/cases'] button[type=submit]")
    check("/console/cases/" in manager.current_url and "/new" not in manager.current_url, "the case is opened, on its page")
    case_url = manager.current_url
    case_id = case_url.rsplit("/", 1)[1]
    check(api("GET", f"/v1/cases/{case_id}", ADMIN)["balances"]["principal"] == 6000000, "stored as 6 000 000 minor units")

    print("- a vehicle, with a wrong VIN first")
    fill(manager, "f-vin", "2HGES16555H591294")
    fill(manager, "f-make", "Honda")
    fill(manager, "f-model", "Civic")
    fill(manager, "f-year", "2005")
    fill(manager, "f-mileageKm", "150000")
    submit(manager, "form[action$='/vehicles'] button[type=submit]")
    error = manager.find_elements(By.ID, "f-vin-error")
    check(bool(error) and "check digit" in error[0].text.lower(), f"the VIN's error beside the VIN ({error[0].text if error else ''})")
    fill(manager, "f-vin", "2HGES16555H591293")
    submit(manager, "form[action$='/vehicles'] button[type=submit]")
    check("2005 Honda Civic" in manager.page_source, "the vehicle is on the case's page")

    print("- an appraisal from comparables, approved by a second manager")
    manager.find_element(By.CSS_SELECTOR, "details.form-box summary").click()
    fill(manager, "form[action$='/appraisals'] [name=conditionGrade]", "3.5")
    for index, (price, year, mileage, days) in enumerate(
            [("40,000", "2005", "140000", 20), ("42,000", "2006", "120000", 40), ("38,000", "2004", "170000", 60)]):
        field = f"form[action$='/appraisals'] [name='comparables[{index}].%s']"
        fill(manager, field % "price", price)
        fill(manager, field % "year", year)
        fill(manager, field % "mileageKm", mileage)
        fill(manager, field % "soldOn", (now - datetime.timedelta(days=days)).strftime("%Y-%m-%d"))
    submit(manager, "form[action$='/appraisals'] button[type=submit]")
    check("Draft, awaiting a second manager" in manager.page_source, "the appraisal waits for a second manager")
    sign_in(second, other)
    second.get(case_url)
    submit(second, "form[action$='/approve'] button")
    check("Approved" in second.page_source, "the second manager approved it")

    print("- the lot's prices are shown before it is saved")
    starts = now.strftime("%Y-%m-%dT%H:%M")
    fill(second, "form[action$='/lots'] [name=startsAt]", starts)
    submit(second, "form[action$='/lots'] button[value=preview]")
    preview = second.find_elements(By.CSS_SELECTOR, ".preview")
    check(bool(preview) and "Starting price" in preview[0].text, "the computed start, reserve and deposit are shown")
    check(api("GET", f"/v1/vehicles/{api('GET', f'/v1/cases/{case_id}', ADMIN)['vehicles'][0]['id']}", ADMIN)["lots"] == [],
          "and nothing is saved by the preview")
    shown = preview[0].text if preview else ""
    submit(second, "form[action$='/lots'] button[value=save]")
    vehicle = api("GET", f"/v1/cases/{case_id}", ADMIN)["vehicles"][0]
    lots = api("GET", f"/v1/vehicles/{vehicle['id']}", ADMIN)["lots"]
    check(len(lots) == 1 and lots[0]["status"] == "open", "the lot is listed and open")
    lot = lots[0]
    check(money(lot["startingPrice"]) in shown and money(lot["reserve"]) in shown and money(lot["depositAmount"]) in shown,
          "the saved lot has the prices the preview showed")
    accessible(second, "the case page")
    screenshot(second, "case.png")

    print("- a dealer bids in its browser; the manager's board shows it within 1 s")
    reference = f"DEP-{tag}"
    api("POST", f"/v1/lots/{lot['id']}/deposits", ADMIN, {"bidderId": dealer["id"], "amount": lot["depositAmount"],
                                                          "reference": reference})
    manager.get(BASE + "/console/board")
    wait_for(lambda: "Live" in manager.find_element(By.ID, "board-status").text, 5)
    row = manager.find_element(By.CSS_SELECTOR, f"tr[data-lot-id='{lot['id']}']")
    sign_in(bidder_browser, dealer["token"])
    bidder_browser.get(BASE + f"/console/lots/{lot['id']}")
    wait_for(lambda: "Live" in bidder_browser.find_element(By.ID, "lot-status").text, 5)
    fill(bidder_browser, "f-maxAmount", "1")
    submit(bidder_browser, "form[action$='/bids'] button[type=submit]")
    error = bidder_browser.find_elements(By.ID, "f-maxAmount-error")
    check(bool(error) and money(lot["startingPrice"]) in error[0].text, "a bid too low is refused beside the amount, naming the minimum")
    fill(bidder_browser, "f-maxAmount", money(lot["startingPrice"] + 300000).replace(",", ""))
    submit(bidder_browser, "form[action$='/bids'] button[type=submit]")
    price = money(lot["startingPrice"])
    check("Bid accepted" in bidder_browser.page_source, "the bid is accepted")
    seen = wait_for(lambda: row.find_element(By.CSS_SELECTOR, "[data-field=price]").text == price, 1.0)
    check(seen, f"the manager's board shows {price} within 1 s, without a reload")
    source = bidder_browser.page_source
    check(money(lot["reserve"]) not in source and "Reserve</dt>" not in source, "no reserve in the bidder's lot page")
    check(money(lot["startingPrice"] + 300000) in source, "the bidder sees its own maximum")
    accessible(bidder_browser, "the bidder's lot page")
    bidder_browser.set_window_size(390, 844)
    bidder_browser.refresh()
    wide = bidder_browser.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    check(wide <= 1, f"the lot page fits a phone's width without scrolling sideways ({wide}px over)")
    check(bidder_browser.find_element(By.CSS_SELECTOR, "form[action$='/bids'] button").is_displayed(), "and its bid button is there")
    bidder_browser.set_window_size(1280, 900)
    bidder_browser.get(BASE + "/console/mine")
    check(reference in bidder_browser.page_source or lot["id"] in bidder_browser.page_source, "my deposits list the deposit")
    accessible(bidder_browser, "the bidder's own page")
    bidder_browser.get(BASE + f"/console/cases/{case_id}")
    check("Not for your role" in bidder_browser.page_source, "a case page is a 403 page for a bidder")
    return reference, lot


def finance_desk(driver, reference, lot):
    import datetime
    import tempfile
    print("- finance uploads a bank statement and sees matched and unmatched lines side by side")
    clerk = api("POST", "/v1/users", ADMIN, {"name": "Wu Fang", "role": "finance"})["token"]
    sign_in(driver, clerk)
    driver.get(BASE + "/console/finance")
    accessible(driver, "the finance desk")
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as statement:
        statement.write("date,amount,reference,counterparty\n")
        statement.write(f"{today},{money(lot['depositAmount']).replace(',', '')},{reference},Dealer Zhao\n")
        statement.write(f"{today},123.45,NOBODY-KNOWS-THIS,A stranger\n")
    driver.find_element(By.ID, "bank-file").send_keys(statement.name)
    submit(driver, "form[action='/console/finance/bank-lines'] button[type=submit]")
    matched = [r.text for r in driver.find_elements(By.CSS_SELECTOR, ".reconciliation tr.matched")]
    unmatched = [r.text for r in driver.find_elements(By.CSS_SELECTOR, ".reconciliation tr.unmatched")]
    check(any(reference in text for text in matched), f"the deposit's line is matched ({matched})")
    check(any("NOBODY-KNOWS-THIS" in text for text in unmatched), f"the stranger's line is unmatched ({unmatched})")
    accessible(driver, "the finance desk after an upload")
    screenshot(driver, "finance.png")
    advices = driver.find_elements(By.CSS_SELECTOR, "a[href^='/console/remittance/']")
    check(bool(advices), "the desk links the consignors' remittance advices")
    if advices:
        advices[0].click()
        check(wait_for(lambda: "Remittance advices" in driver.find_element(By.TAG_NAME, "h1").text, 5), "a remittance advice opens")
        check("First Auto Finance" in driver.page_source, "it names the consignor")
        accessible(driver, "a remittance advice")

    print("- the printable statement of a settled case, linked from its page")
    closed = [c for c in api("GET", "/v1/cases?limit=200", ADMIN)["items"] if c["status"] == "closed"]
    driver.get(BASE + f"/console/cases/{closed[0]['id']}")
    accessible(driver, "a settled case's page")
    driver.find_element(By.PARTIAL_LINK_TEXT, "Statement (English)").click()
    check(wait_for(lambda: "/statement" in driver.current_url, 5), "the statement opens from the case page")
    check("Explanation of surplus or deficiency" in driver.page_source, "it is the statement")
    accessible(driver, "the statement")
    screenshot(driver, "statement.png")


def administration(driver):
    print("- the admin creates a user and sees its token once")
    sign_in(driver, ADMIN)
    driver.get(BASE + "/console/admin")
    accessible(driver, "the admin page")
    fill(driver, "f-name", "Console dealer")
    submit(driver, "form[action='/console/admin/users/new/create'] button[type=submit]")
    token = driver.find_elements(By.CSS_SELECTOR, "code.token")
    check(bool(token) and len(token[0].text) > 20, "the new user's token is shown once")
    if token:
        me = api("GET", "/v1/me", token[0].text)
        check(me["name"] == "Console dealer" and me["role"] == "bidder", "and it works on the API")
    driver.get(BASE + "/console/cases")
    accessible(driver, "the case list")


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

        reference, lot = disposal(manager, bidder_browser, bidder_browser)
        finance_desk(manager, reference, lot)
        administration(manager)

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
