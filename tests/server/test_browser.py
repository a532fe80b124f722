# SPDX-License-Identifier: MIT
"""The page in a real browser: headless Chromium (Debian's chromium and
chromium-driver, driven by selenium) redraws MNIST test digits on the
canvas with pointer events, stroke by stroke, and reads the page's
predictions. This test fails, never skips, when the browser cannot run."""
import os
import pathlib

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.actions import interaction
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.actions.pointer_input import PointerInput
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import encode
from strokes import strokes

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")


@pytest.fixture(scope="module")
def browser():
    for path in (CHROMIUM, CHROMEDRIVER):
        if not pathlib.Path(path).exists():
            pytest.fail(f"{path} is missing: apt-get install chromium chromium-driver (scripts/setup.sh does)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-proxy-server", "--window-size=900,860", "--force-device-scale-factor=1"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def draw(driver, canvas, lines, kind):
    """Replays polylines (x, y in 0..1) on the canvas, one pointer stroke each."""
    rect = driver.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.width, r.height];", canvas)
    width, height = rect
    pointer = PointerInput(kind, kind)
    actions = ActionBuilder(driver, mouse=pointer, duration=5)

    def offset(p):  # move_to offsets are from the element's centre
        return int((p[0] - 0.5) * width * 0.9), int((p[1] - 0.5) * height * 0.9)

    for line in lines:
        actions.pointer_action.move_to(canvas, *offset(line[0]))
        actions.pointer_action.pointer_down()
        for p in line[1::2] + [line[-1]]:
            actions.pointer_action.move_to(canvas, *offset(p))
        actions.pointer_action.pointer_up()
    actions.perform()


def prediction(driver):
    """The page's answer once it is for the drawing as it is now."""
    def ready(d):
        state = d.execute_script(
            "const a = document.getElementById('answer'), p = document.getElementById('pad');"
            "return [a.dataset.version, p.dataset.version, a.dataset.digit];")
        return state[2] if state[0] == state[1] and state[2] != "" else None
    return int(WebDriverWait(driver, 20).until(ready))


def test_drawn_digits_are_recognised(server, browser, mnist_test):
    images, labels = mnist_test
    browser.get(server.url + "/")
    canvas = browser.find_element(By.ID, "pad")
    assert canvas.get_attribute("aria-label") and browser.find_element(By.ID, "clear").tag_name == "button"
    results = []
    # The first test image of each digit, drawn in turn with a mouse, a pen and a finger.
    kinds = [interaction.POINTER_MOUSE, interaction.POINTER_PEN, interaction.POINTER_TOUCH]
    for digit in range(10):
        index = int((labels == digit).argmax())
        kind = kinds[digit % 3]
        browser.find_element(By.ID, "clear").click()
        draw(browser, canvas, strokes(images[index]), kind)
        got = prediction(browser)
        results.append((digit, got))
        bars = browser.find_elements(By.CSS_SELECTOR, "#bars li")
        assert len(bars) == 10 and bars[got].get_attribute("class") == "best"
        if digit == 7 and os.environ.get("DIGIT_SCREENSHOT"):
            browser.save_screenshot(os.environ["DIGIT_SCREENSHOT"])
    right = sum(d == g for d, g in results)
    print("drawn digit -> page's answer:", results)
    assert right >= 8, results


def test_keyboard_and_clear(server, browser):
    browser.get(server.url + "/")
    canvas = browser.find_element(By.ID, "pad")
    # The buttons are real buttons, reachable with Tab; the canvas takes focus.
    focusable = browser.execute_script(
        "return [...document.querySelectorAll('button, canvas[tabindex]')].map(e => e.tabIndex >= 0);")
    assert all(focusable) and len(focusable) == 3
    draw(browser, canvas, [[(0.5, 0.1), (0.5, 0.9)]], interaction.POINTER_MOUSE)
    assert prediction(browser) == 1
    canvas.send_keys("\ue00c")  # Escape clears
    state = browser.execute_script("return document.getElementById('answer').dataset.digit")
    assert state == "" and browser.find_element(By.ID, "digit").text == "–"


def test_photo_from_the_file_picker(server, browser, mnist_test, tmp_path):
    images, labels = mnist_test
    index = int((labels == 2).argmax())
    photo = tmp_path / "two.png"
    photo.write_bytes(encode(images[index], side=300))
    direct = server.post("/v1/classify", data=photo.read_bytes(), headers={"Content-Type": "image/png"}).json()
    browser.get(server.url + "/")
    # The picker opens from the "Choose a photo" button; WebDriver hands the
    # file to the (hidden) input directly, as the dialog would.
    picker = browser.find_element(By.ID, "file")
    browser.execute_script("arguments[0].hidden = false;", picker)
    picker.send_keys(str(photo))
    assert prediction(browser) == direct["digit"] == 2  # the page shows the server's answer
