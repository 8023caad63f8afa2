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
        error = manager.find_elements(By.ID, "token-error")
        check(bool(error) and "not known" in error[0].text, "the sign-in error stands beside the token field")
        accessible(manager, "the sign-in page")

        print("- the admin signs in and sees the dashboard")
        sign_in(manager, ADMIN)
        check(manager.current_url.rstrip("/").endswith("/console"), "signed in, on the dashboard")
        heading = manager.find_element(By.TAG_NAME, "h1").text
        check(heading == "Disposals", f"the dashboard's heading ({heading})")
        rows = manager.find_elements(By.CSS_SELECTOR, "section[aria-labelledby=pipeline-title] tbody tr")
        check(len(rows) == 8, f"eight stages in the pipeline table ({len(rows)})")
        closed = [r.text for r in rows if r.text.startswith("Closed")]
        check(bool(closed) and closed[0].split()[1] != "0", f"the demo's closed cases are counted ({closed})")
        check(len(manager.find_elements(By.CSS_SELECTOR, "svg.chart")) == 2, "two server-drawn SVG charts")
        accessible(manager, "the dashboard")
        screenshot(manager, "dashboard.png")

        print("- the language toggle")
        manager.find_element(By.CSS_SELECTOR, "p.lang a").click()
        check(manager.find_element(By.TAG_NAME, "h1").text == "处置总览", "the dashboard in Chinese")
        manager.get(BASE + "/console")
        check(manager.find_element(By.TAG_NAME, "h1").text == "处置总览", "Chinese is remembered")
        manager.get(BASE + "/console?lang=en")

        print("- a bidder sees the lots, never a reserve, and no staff page")
        dealer = api("POST", "/v1/users", ADMIN, {"name": "Browser dealer", "role": "bidder"})
        sign_in(bidder_browser, dealer["token"])
        check(bidder_browser.current_url.endswith("/console/lots"), "the bidder lands on the lots")
        check("reserve" not in bidder_browser.page_source.lower(), "no reserve anywhere in the bidder's page")
        accessible(bidder_browser, "the lots page")
        bidder_browser.get(BASE + "/console/reports/pipeline.csv")
        check("Not for your role" in bidder_browser.page_source, "a staff report is a 403 page for a bidder")

        print("- a form posted without its CSRF token is refused")
        manager.execute_script("document.querySelector('form.sign-out input[name=csrf]').value = 'forged'")
        manager.find_element(By.CSS_SELECTOR, "form.sign-out button").click()
        check("Form refused" in manager.page_source, "the forged sign-out is refused")
        manager.get(BASE + "/console")
        check(manager.find_element(By.TAG_NAME, "h1").text == "Disposals", "and the session is still there")
        manager.find_element(By.CSS_SELECTOR, "form.sign-out button").click()
        check(manager.current_url.endswith("/console/sign-in"), "a real sign-out ends on the sign-in page")
    finally:
        manager.quit()
        bidder_browser.quit()
    if failures:
        print(f"browser: {len(failures)} failed")
        sys.exit(1)
    print("browser: every check passed")


if __name__ == "__main__":
    main()
