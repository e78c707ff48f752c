"""The service's web page in a real headless Chromium (Debian's ``chromium`` and ``chromedriver``,
driven by selenium): upload karate, run a fastrp job with an index, watch it finish, open the map,
hover a point, click it and see its ten nearest neighbours. ``graphembed serve --data-dir`` runs
for real in a subprocess. Screenshots of every step go to ``$GRAPHEMBED_SCREENSHOTS`` (else the
test's tmp_path); the assertions read the DOM, never pixels."""
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip("the browser test needs Debian's chromium and chromium-driver "
                "(/usr/bin/chromium, /usr/bin/chromedriver): apt-get install chromium chromium-driver",
                allow_module_level=True)

pytest.importorskip("faiss")
pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
webdriver = pytest.importorskip("selenium.webdriver")

from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

from graphembed.datasets import karate_path  # noqa: E402

WAIT = 30   # seconds for any one step (the job itself included)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def service(tmp_path):
    """``graphembed serve --data-dir`` on a free loopback port: (url, write token)."""
    data, port = tmp_path / "data", free_port()
    log = open(tmp_path / "server.log", "w+b")
    proc = subprocess.Popen(
        [sys.executable, "-m", "graphembed.cli.main", "serve", "--data-dir", str(data),
         "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + WAIT
        while True:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"graphembed serve exited ({proc.returncode}):\n{log.read().decode()}")
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.time() > deadline:
                pytest.fail("graphembed serve did not answer /healthz in time")
            time.sleep(0.2)
        yield url, (data / "token").read_text().strip()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1600"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def shots(tmp_path):
    """shot(name): a screenshot of the whole window into the screenshot directory."""
    folder = Path(os.environ.get("GRAPHEMBED_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"screenshots: {folder}")
    return folder


def visible_point(driver):
    """A map point that is on top at its own centre (so hovering it hovers that very point)."""
    return driver.execute_script("""
        for (const c of document.querySelectorAll('#map circle')) {
          const r = c.getBoundingClientRect();
          if (document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === c) return c;
        }
        return null;""")


def test_upload_embed_map_neighbours(service, browser, shots, tmp_path):
    url, token = service
    driver, wait = browser, WebDriverWait(browser, WAIT)

    def shot(name):
        driver.save_screenshot(str(shots / f"{name}.png"))

    def text(selector):
        return driver.find_element(By.CSS_SELECTOR, selector).text

    driver.get(url + "/")
    assert driver.title == "graphembed service"
    shot("01-page")

    driver.find_element(By.ID, "token").send_keys(token)
    wait.until(lambda d: len(Select(d.find_element(By.ID, "job-method")).options) > 0)
    methods = [o.get_attribute("value") for o in Select(driver.find_element(By.ID, "job-method")).options]
    assert "fastrp" in methods
    assert driver.execute_script("return sessionStorage.getItem('graphembed-token')") == token
    shot("02-token")

    # A file name with markup in it: the page must show it as text, never build elements from it.
    upload = tmp_path / "<b>karate.csv"
    shutil.copyfile(karate_path(), upload)
    driver.find_element(By.ID, "upload-file").send_keys(str(upload))
    driver.find_element(By.ID, "upload-submit").click()
    row = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#graphs tr[data-graph]")))
    gid = row.get_attribute("data-graph")
    cells = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
    assert cells[0] == gid and "34" in cells and "78" in cells, cells
    assert "<b>karate" in cells[1] and not driver.find_elements(By.CSS_SELECTOR, "#graphs b")
    wait.until(lambda d: Select(d.find_element(By.ID, "job-graph")).first_selected_option
               .get_attribute("value") == gid)
    shot("03-uploaded")

    Select(driver.find_element(By.ID, "job-task")).select_by_value("embed")
    Select(driver.find_element(By.ID, "job-method")).select_by_value("fastrp")
    index = driver.find_element(By.ID, "job-index")
    if not index.is_selected():
        index.click()
    params = driver.find_element(By.ID, "job-params")
    # Refused parameters: the server's one-line 422 shows on the page and no job is made.
    params.clear()
    params.send_keys('{"dim": 0}')
    driver.find_element(By.ID, "job-submit").click()
    wait.until(lambda d: "error" in d.find_element(By.ID, "message").get_attribute("class"))
    assert "dim" in text("#message") and not driver.find_elements(By.CSS_SELECTOR, "#jobs tr")
    shot("04-refused")
    params.clear()
    params.send_keys('{"dim": 16, "random_state": 1}')
    driver.find_element(By.ID, "job-submit").click()
    row = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#jobs tr[data-job]")))
    jid = row.get_attribute("data-job")
    shot("05-submitted")

    job_row = f'#jobs tr[data-job="{jid}"]'
    wait.until(lambda d: text(job_row + " .state") in ("done", "failed", "cancelled"))
    assert text(job_row + " .state") == "done", text(job_row + " .error")
    assert driver.find_element(By.CSS_SELECTOR, job_row + " progress").get_attribute("value") == "1"
    shot("06-done")

    driver.find_element(By.CSS_SELECTOR, job_row + " button.open-map").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#map [data-node]")) == 34)
    nodes = {c.get_attribute("data-node") for c in driver.find_elements(By.CSS_SELECTOR, "#map [data-node]")}
    assert nodes == {str(i) for i in range(34)}
    shot("07-map")

    point = visible_point(driver)
    assert point is not None
    node = point.get_attribute("data-node")
    ActionChains(driver).move_to_element(point).perform()
    wait.until(lambda d: text("#hover") == node)
    shot("08-hover")

    point.click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#neighbors li")) == 10)
    listed = [li.get_attribute("data-node") for li in driver.find_elements(By.CSS_SELECTOR, "#neighbors li")]
    assert node not in listed and set(listed) <= nodes and len(set(listed)) == 10
    assert "error" not in driver.find_element(By.ID, "message").get_attribute("class")
    shot("09-neighbours")

    # The page ran cleanly: no script error, nothing refused by a content security policy (the
    # refused job above is logged as a failed resource load, which is expected).
    problems = [e["message"] for e in driver.get_log("browser")
                if e["level"] == "SEVERE" and "Failed to load resource" not in e["message"]]
    assert not problems, problems
