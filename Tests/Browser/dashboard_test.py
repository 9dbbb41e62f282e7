"""The dashboard in a real headless Chromium, against the real `lph serve`.

Usage: python3 Tests/Browser/dashboard_test.py .build/debug/lph [screenshot.png]

A job is submitted through the page's form and followed: its card moves from
pending to in progress to completed, the phase indicator advances, log lines
appear in order, an artifact opens with its preview, and the lines-per-hour
figure is non-zero. Then the daemon is restarted under a running job: the page
reconnects by itself and shows every log line exactly once. Every wait has a
generous upper bound and ends as soon as its condition holds.
"""
import os
import re
import subprocess
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Support"))
from lph_support import Daemon, free_port, until  # noqa: E402

LPH = os.path.abspath(sys.argv[1])
SCREENSHOT = sys.argv[2] if len(sys.argv) > 2 else None
WORK = tempfile.mkdtemp(prefix="lph-browser-")
PORT = free_port()
BASE = f"http://127.0.0.1:{PORT}"


def start(pace):
    """`lph serve` in WORK on PORT (the same across a restart, so the page comes
    back by itself), with the demo agent at a pace a person can watch."""
    return Daemon(LPH, WORK, "--demo-pace", str(pace), "--sweep-interval", "600", port=PORT, log=subprocess.STDOUT)


def wait(what, condition, timeout=90):
    return until(what, condition, timeout)


def browser():
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1500,1300"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


# The page re-renders as events arrive: read it in one script call, never through stale handles.
def card_column(driver, job):
    return driver.execute_script(
        "return document.querySelector(`.card[data-job='${arguments[0]}']`)?.closest('[data-column]')?.dataset.column ?? null", job)


def current_phase(driver):
    return driver.execute_script("return document.querySelector('#phases li.current')?.dataset.phase ?? null")


def log_row_ids(driver):
    return driver.execute_script("return [...document.querySelectorAll('#log-rows li')].map(li => Number(li.dataset.id))")


def submitted(driver, after=0):
    """The id of the job the form last submitted, once it is newer than `after`."""
    match = re.search(r"job (\d+) submitted", driver.find_element(By.ID, "submit-status").text)
    return int(match.group(1)) if match and int(match.group(1)) > after else None


def shown_log_count(driver):
    text = driver.find_element(By.ID, "log-count").text   # "N of M lines"
    match = re.match(r"([\d,]+) of ([\d,]+) lines", text)
    return int(match.group(2).replace(",", "")) if match else -1


def main():
    daemon = start(pace=1.5)
    driver = browser()
    try:
        # The printed address signs the browser in, and the token leaves the address bar.
        driver.get(daemon.address)
        wait("the app", lambda: driver.find_element(By.ID, "app").is_displayed())
        assert "token=" not in driver.current_url, driver.current_url
        wait("the live stream", lambda: driver.find_element(By.ID, "connection").get_attribute("data-state") == "live")

        # Submit through the form.
        driver.find_element(By.ID, "submit-project").send_keys("Greeter")
        driver.find_element(By.ID, "submit-spec").send_keys("Build a greeting command line tool")
        driver.find_element(By.ID, "submit-button").click()
        job = wait("the submission", lambda: submitted(driver))
        assert card_column(driver, job) in ("pending", "in_progress")

        # In progress, phases advancing, log lines arriving in order.
        wait("the card in progress", lambda: card_column(driver, job) == "in_progress")
        seen_phases = []

        def phase_advanced():
            phase = current_phase(driver)
            if phase and (not seen_phases or seen_phases[-1] != phase):
                seen_phases.append(phase)
            return len(seen_phases) >= 2

        wait("the phase indicator to advance", phase_advanced)
        order = ["specify", "plan", "implement", "test", "review"]
        assert [order.index(p) for p in seen_phases] == sorted(order.index(p) for p in seen_phases), seen_phases
        wait("log lines", lambda: len(log_row_ids(driver)) > 3)
        ids = log_row_ids(driver)
        assert ids == sorted(ids) and len(set(ids)) == len(ids), ids

        # An artifact opens with its preview and line numbers.
        name = wait("an artifact", lambda: driver.execute_script(
            "const b = document.querySelector('#artifact-list button'); if (!b) return null; b.click(); return b.textContent"))
        wait("the preview", lambda: driver.execute_script("return document.querySelectorAll('#preview span').length") > 0)
        assert driver.find_element(By.ID, "preview-title").text.startswith(name)

        wait("lines per hour", lambda: driver.find_element(By.ID, "lines-per-hour").text not in ("", "0"))
        if SCREENSHOT:
            wait("a job well under way", lambda: current_phase(driver) in ("implement", "test", "review"))
            os.makedirs(os.path.dirname(SCREENSHOT) or ".", exist_ok=True)
            driver.save_screenshot(SCREENSHOT)
        wait("the card completed", lambda: card_column(driver, job) == "completed", timeout=120)
        stored = len(daemon.get(f"/jobs/{job}/logs?limit=10000"))
        wait("every log line shown", lambda: shown_log_count(driver) == stored)

        # The job's changes: its files with their +/−, and a file's diff with line numbers, as text.
        counted = daemon.get(f"/jobs/{job}")["lines_written"]
        wait("the changes summary", lambda: f"+{counted:,}" in driver.find_element(By.ID, "changes-summary").text)
        changed = wait("a changed file", lambda: driver.execute_script(
            "const b = document.querySelector('#change-list button'); if (!b) return null; b.click(); return b.dataset.path"))
        wait("its diff", lambda: driver.execute_script("return document.querySelectorAll('#change-diff span.add').length") > 0)
        assert driver.find_element(By.ID, "change-title").text == changed
        assert driver.execute_script("return [...document.querySelectorAll('#change-diff *')].every(n => n.tagName === 'SPAN')")
        assert driver.execute_script("return document.querySelector('#change-diff span.add').dataset.new") == "1"

        # A restart under a running job: the page comes back by itself, nothing twice.
        driver.find_element(By.ID, "submit-spec").send_keys("Second job")
        driver.find_element(By.ID, "submit-button").click()
        second = wait("the second submission", lambda: submitted(driver, after=job))
        wait("the second job's log", lambda: shown_log_count(driver) > 3)
        daemon.stop()
        wait("the page to notice", lambda: driver.find_element(By.ID, "connection").get_attribute("data-state") != "live")
        daemon = start(pace=1.5)
        wait("the page to reconnect", lambda: driver.find_element(By.ID, "connection").get_attribute("data-state") == "live")
        wait("the interrupted job on the board", lambda: card_column(driver, second) == "failed")
        stored = len(daemon.get(f"/jobs/{second}/logs?limit=10000"))
        wait("every line of the interrupted job, once", lambda: shown_log_count(driver) == stored)
        rows = log_row_ids(driver)
        assert len(rows) == len(set(rows)), "a log line is shown twice"
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE" and "EventSource" not in entry["message"]
                  and "ERR_CONNECTION_REFUSED" not in entry["message"] and "ERR_INCOMPLETE_CHUNKED_ENCODING" not in entry["message"]]
        assert not errors, errors
        print(f"dashboard test passed: job {job} followed to completion, job {second} across a restart")
    finally:
        driver.quit()
        daemon.stop()


if __name__ == "__main__":
    main()
