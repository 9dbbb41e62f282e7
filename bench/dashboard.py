#!/usr/bin/env python3
"""The dashboard under a log flood, measured in a real headless Chromium.

An agent prints RATE lines per second for SECONDS; the page follows the job's
log. In the page, a MutationObserver notes, for the newest row of each paint,
the time from the line's stored timestamp to the moment it entered the DOM
(the frame it is painted in), and requestAnimationFrame counts frames.

Usage: bench/dashboard.py PATH-TO-LPH [--rate 10000] [--seconds 10]
(needs the .venv that Tests/Support/make-venv.sh makes: `make venv`)
"""
import argparse, os, re, signal, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import measures  # noqa: E402
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

AGENT = r"""
import sys, time
rate, total = {rate}, {total}
start = time.time()
for i in range(1, total + 1):
    if i % 100 == 0:
        sys.stdout.flush()
        delay = start + i / rate - time.time()
        if delay > 0: time.sleep(delay)
    sys.stdout.write(f"line {{i}}\n")
sys.stdout.flush()
"""

PROBE = """
window.__lat = []; window.__frames = 0;
const rows = document.getElementById('log-rows');
new MutationObserver(() => {
  const last = rows.lastElementChild;
  if (!last) return;
  const ts = last.querySelector('.ts');
  if (!ts) return;
  const today = new Date().toISOString().slice(0, 11);
  window.__lat.push(Date.now() - Date.parse(today + ts.textContent + 'Z'));
}).observe(rows, { childList: true });
(function count() { window.__frames++; requestAnimationFrame(count); })();
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("lph")
    parser.add_argument("--rate", type=int, default=10000)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="lph-dash-bench.")
    agent = os.path.join(root, "agent.py")
    with open(agent, "w") as f:
        f.write(AGENT.format(rate=args.rate, total=args.rate * args.seconds))
    daemon, port, token = measures.serve_http(os.path.abspath(args.lph), root, f"{sys.executable} {agent}")
    address = f"http://127.0.0.1:{port}/?token={token}"
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1500,1200"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get(address)
        while driver.execute_script("return document.getElementById('connection').dataset.state") != "live":
            time.sleep(0.05)
        driver.execute_script(PROBE)
        measures.drop(root, "Flood.json", "flood")
        frames0, t0 = driver.execute_script("return window.__frames"), time.time()
        total = args.rate * args.seconds
        while True:
            shown = driver.execute_script("return document.getElementById('log-count').textContent")
            match = re.match(r"[\d,]+ of ([\d,]+)", shown or "")
            if match and int(match.group(1).replace(",", "")) >= total:
                break
            time.sleep(0.2)
        elapsed = time.time() - t0
        frames = driver.execute_script("return window.__frames") - frames0
        lat = driver.execute_script("return window.__lat")
        print("| lines/s | lines | stored → painted p50 | p99 | frames/s while flooding |")
        print(f"| {args.rate} | {total} | {measures.pct(lat, 0.5)} ms | {measures.pct(lat, 0.99)} ms | {frames / elapsed:.0f} |")
    finally:
        driver.quit()
        daemon.send_signal(signal.SIGTERM)
        daemon.wait()


if __name__ == "__main__":
    main()
