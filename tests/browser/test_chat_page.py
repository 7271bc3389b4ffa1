#!/usr/bin/python3
"""The chat page in a real browser: Debian's chromium, headless, driven through
chromium-driver by Selenium (Debian's python3-selenium). A tiny model is trained through
the real host, `nanochat run serve` is started on a loopback port, and the test sets
temperature 0 in the settings panel, sends a message with Enter, watches the reply stream
in, regenerates it, starts a new chat, and saves a screenshot.

Exits 77 (CTest: skipped) when chromium, chromium-driver, Selenium or the corpus is missing.
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

SKIP = 77
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(SKIP)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_host(host, args, env):
    result = subprocess.run([host, *args], env=env, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        sys.exit(f"nanochat {' '.join(args[:2])} failed:\n{result.stderr}")


def wait_ready(url, server, log_path):
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit("nanochat serve exited while starting:\n" + open(log_path).read())
        try:
            with urllib.request.urlopen(url + "health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("nanochat serve was not ready within 120 s:\n" + open(log_path).read())


def stop(server):
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def start_browser(profile):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # The machine's network is closed: without these flags Chromium stalls on updates and sync.
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}", "--window-size=420,860"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def exercise_page(driver, url, screenshot):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    wait = WebDriverWait(driver, 60, poll_frequency=0.02)
    # The page names the checkpoint that answers: source, model tag and step.
    wait.until(lambda d: d.find_element(By.ID, "model").text.startswith("nanochat-base-browser-"))
    # Greedy decoding of an untrained model does not stop early, so the reply streams long enough to watch.
    driver.find_element(By.ID, "settings-toggle").click()
    temperature = driver.find_element(By.ID, "temperature")
    temperature.clear()
    temperature.send_keys("0")

    box = driver.find_element(By.ID, "input")
    box.send_keys("Why is the sky blue?")
    box.send_keys(Keys.ENTER)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".message.user"))
    assert driver.find_element(By.CSS_SELECTOR, ".message.user").text == "Why is the sky blue?"

    # Part of the reply on screen while it is still streaming, then all of it.
    partial = wait.until(lambda d: next((e.text for e in d.find_elements(By.CSS_SELECTOR, '.message.assistant[data-state="streaming"]')
                                         if e.text.strip()), None))
    reply = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, '.message.assistant[data-state="done"]'))
    events = int(reply.get_attribute("data-events"))
    final = reply.text
    print(f"streamed {events} events; seen mid-stream: {len(partial)} chars, finally {len(final)} chars")
    assert events > 1, "the reply arrived in one piece, not streamed"
    assert len(final) > len(partial), "the reply did not grow after it first appeared"
    driver.execute_script("document.getElementById('scroller').scrollTop = 0")  # the question and the reply's start
    driver.save_screenshot(screenshot)
    print(f"screenshot: {screenshot}")

    # Regenerate: clicking the reply replaces it with a new one (greedy, so the same text).
    reply.click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '.message.assistant[data-state="done"]'))
    assert len(driver.find_elements(By.CSS_SELECTOR, ".message.assistant")) == 1
    assert driver.find_element(By.CSS_SELECTOR, ".message.assistant").text == final

    driver.find_element(By.ID, "new-chat").click()
    assert not driver.find_elements(By.CSS_SELECTOR, ".message")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", required=True, help="the nanochat binary")
    parser.add_argument("--corpus", required=True, help="text to train the tiny model on")
    parser.add_argument("--screenshot", required=True, help="where to save the PNG")
    args = parser.parse_args()

    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.path.exists(path):
            skip(f"{path} is missing (apt-get install {package})")
    try:
        import selenium  # noqa: F401
    except ImportError:
        skip("Selenium is missing (apt-get install python3-selenium)")
    if not os.path.exists(args.corpus):
        skip(f"no corpus at {args.corpus}")

    scratch = tempfile.mkdtemp(prefix="nanochat-browser-")
    env = dict(os.environ, NANOCHAT_BASE_DIR=os.path.join(scratch, "base"), NANOCHAT_PLUGIN_PATH="", OMP_NUM_THREADS="1",
               NANOCHAT_API_KEY="")
    server = driver = None
    try:
        run_host(args.host, ["run", "tokenizer", "--corpus", args.corpus, "--vocab-size", "512", "--max-chars", "2000000"], env)
        run_host(args.host, ["run", "data", "--corpus", args.corpus, "--max-chars", "2000000"], env)
        run_host(args.host, ["run", "pretrain", "--depth", "4", "--max-seq-len", "256", "--device-batch-size", "1",
                             "--total-batch-size", "256", "--num-iterations", "5", "--eval-every", "-1", "--sample-every", "-1",
                             "--model-tag", "browser", "--device", "cpu", "--dtype", "fp32"], env)
        port = free_port()
        log_path = os.path.join(scratch, "serve.log")
        with open(log_path, "w") as log:
            server = subprocess.Popen([args.host, "run", "serve", "--host", "127.0.0.1", "--port", str(port), "--source", "base",
                                       "--model-tag", "browser", "--device", "cpu"],
                                      env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}/"
        wait_ready(url, server, log_path)
        driver = start_browser(os.path.join(scratch, "profile"))
        os.makedirs(os.path.dirname(os.path.abspath(args.screenshot)), exist_ok=True)
        exercise_page(driver, url, args.screenshot)
        print("PASS")
    finally:
        if driver is not None:
            driver.quit()
        if server is not None:
            stop(server)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
