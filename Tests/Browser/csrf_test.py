"""Cross-site requests in a real headless Chromium, against the real `lph serve`.

Usage: python3 Tests/Browser/csrf_test.py .build/debug/lph

The browser is signed in as the admin (the dashboard's cookie), then opens an
attacker's page served from another port of 127.0.0.1. Cookies do not separate
ports, so the browser sends the admin's cookie with that page's requests. The
page tries what was seen to work before: `fetch(..., {mode: 'no-cors',
credentials: 'include'})` with a text/plain body to create a job, create an
admin user and cancel a running job, then an auto-submitted `<form
enctype="text/plain">` whose body is valid JSON. Nothing may change. Then a
second browser resolves a name of the attacker's to 127.0.0.1 (DNS rebinding)
and asks the daemon through it: refused. The dashboard itself still works.
"""
import http.server
import threading
import urllib.request

from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium import webdriver

from dashboard_test import BASE, PORT, browser, start, wait
from lph_support import free_port

ATTACKER_PORT = free_port()

ATTACK = """<!doctype html><title>cute cats</title>
<form id="form" method="POST" action="{base}/projects/FormForged/jobs" enctype="text/plain">
<input name='{{"specification": "forged' value='"}}'></form>
<script>
const send = (path, body) => fetch("{base}" + path, {{method: "POST", mode: "no-cors", credentials: "include",
  headers: {{"Content-Type": "text/plain"}}, body: JSON.stringify(body)}});
Promise.allSettled([
  send("/projects/FetchForged/jobs", {{specification: "forged"}}),
  send("/users", {{email: "mallory@example.com", role: "admin", line_credits: 1000000}}),
  send("/jobs/{job}/cancel", {{}}),
]).then(() => document.getElementById("form").submit());
</script>"""


def serve_attacker(page):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", ATTACKER_PORT), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def rebinding_browser():
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--host-resolver-rules=MAP rebound.example 127.0.0.1"]:
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def post(daemon, path, body):
    request = urllib.request.Request(BASE + path, data=body.encode(), method="POST",
                                     headers={"Authorization": f"Bearer {daemon.token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def main():
    daemon = start(pace=10)   # a job that stays in progress while the page attacks it
    driver = browser()
    server = None
    try:
        driver.get(daemon.address)
        wait("the app", lambda: driver.find_element("id", "app").is_displayed())
        assert post(daemon, "/projects/Victim/jobs", '{"specification": "keep running"}') == 201
        job = wait("the job to start", lambda: next((j["id"] for j in daemon.get("/jobs")
                                                      if j["project"] == "Victim" and j["status"] == "in_progress"), None))

        server = serve_attacker(ATTACK.format(base=BASE, job=job))
        driver.get(f"http://127.0.0.1:{ATTACKER_PORT}/")
        # The page's last act is the form, which navigates the browser to the daemon's answer.
        wait("the forged form to be answered", lambda: driver.current_url.startswith(BASE))
        assert "dashboard's own page" in driver.page_source, driver.page_source[:500]

        projects = {j["project"] for j in daemon.get("/jobs")}
        assert not {"FetchForged", "FormForged"} & projects, projects
        assert "mallory@example.com" not in {u["email"] for u in daemon.get("/users")}
        assert daemon.get(f"/jobs/{job}")["status"] == "in_progress", daemon.get(f"/jobs/{job}")

        # The dashboard itself still changes things: its own form submits a job.
        driver.get(BASE + "/")
        wait("the app again", lambda: driver.find_element("id", "app").is_displayed())
        driver.find_element("id", "submit-project").send_keys("FromTheDashboard")
        driver.find_element("id", "submit-spec").send_keys("a job the dashboard sends")
        driver.find_element("id", "submit-button").click()
        wait("the dashboard's job", lambda: "FromTheDashboard" in {j["project"] for j in daemon.get("/jobs")})

        # DNS rebinding: a name of the attacker's that resolves to 127.0.0.1 is not served.
        rebound = rebinding_browser()
        try:
            rebound.get(f"http://rebound.example:{PORT}/?token={daemon.token}")
            assert "does not serve that Host" in rebound.page_source, rebound.page_source[:500]
        finally:
            rebound.quit()
        print("csrf test: forged fetches and form refused, DNS rebinding refused, the dashboard still works")
    finally:
        driver.quit()
        if server:
            server.shutdown()
        daemon.stop()


if __name__ == "__main__":
    main()
