"""The web page at / in a real headless Chromium (Debian's chromium + chromedriver, driven by
selenium): type a Chinese text, press the button, read the labels and score bars."""

from __future__ import annotations

import shutil
import tempfile

import pytest

from serving import Predictor

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
if CHROMIUM is None or CHROMEDRIVER is None:
    pytest.skip(
        "Debian's chromium and chromium-driver are not installed and could not be installed "
        "(scripts/test.sh runs: apt-get install -y chromium chromium-driver fonts-wqy-microhei)",
        allow_module_level=True,
    )
webdriver = pytest.importorskip(
    "selenium.webdriver", reason="selenium is missing: pip install -r requirements-dev.txt"
)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = pytest.mark.slow  # runs scripts in subprocesses or trains for long

# What the machine's closed network needs (see .library env notes): no background traffic.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1000,900",
)


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def predictor(serving_models) -> Predictor:
    return Predictor.from_export_dir(serving_models["multiclass"].export_dir)


def wait_for_state(driver, state: str) -> None:
    WebDriverWait(driver, 60).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state") == state
    )


def shown_rows(driver) -> list[tuple[str, str, bool, str]]:
    rows = []
    for row in driver.find_elements(By.CSS_SELECTOR, "#label-list .label-row"):
        rows.append(
            (
                row.find_element(By.CSS_SELECTOR, ".label-name").text,
                row.find_element(By.CSS_SELECTOR, ".label-score").text,
                "predicted" in row.get_attribute("class").split(),
                row.find_element(By.CSS_SELECTOR, ".bar-fill").get_attribute("style"),
            )
        )
    return rows


def expected_rows(prediction) -> list[tuple[str, str, bool]]:
    ordered = sorted(prediction.probabilities.items(), key=lambda item: -item[1])
    return [(name, f"{p:.4f}", name == prediction.label) for name, p in ordered]


def test_type_a_text_and_read_labels_with_score_bars(browser, http_server, predictor, tmp_path):
    browser.get(http_server.url + "/")
    wait_for_state(browser, "ready")
    assert "multiclass_export · version 1" in browser.find_element(By.ID, "model-info").text
    text = "中超第6轮，浙江队5比0逆转武汉三镇，继续领跑积分榜"
    browser.find_element(By.ID, "text").send_keys(text)
    browser.find_element(By.ID, "predict-button").click()
    wait_for_state(browser, "done")
    browser.save_screenshot(str(tmp_path / "page.png"))

    prediction = predictor.predict_one(text)
    rows = shown_rows(browser)
    assert [row[:3] for row in rows] == expected_rows(prediction)
    top_width = f"width: {prediction.score * 100:.1f}%"
    assert top_width in rows[0][3]
    assert browser.find_element(By.ID, "top-label").text == prediction.label
    assert browser.find_element(By.ID, "status").text == ""


def test_ctrl_enter_predicts_a_pasted_text(browser, http_server, predictor):
    browser.get(http_server.url + "/")
    wait_for_state(browser, "ready")
    box = browser.find_element(By.ID, "text")
    text = "央行宣布降准0.5个百分点，A股三大指数集体高开"
    box.send_keys(text)
    box.send_keys(Keys.CONTROL, Keys.ENTER)
    wait_for_state(browser, "done")
    prediction = predictor.predict_one(text)
    assert [row[:3] for row in shown_rows(browser)] == expected_rows(prediction)


def test_a_server_error_is_shown_not_swallowed(browser, http_server):
    browser.get(http_server.url + "/")
    wait_for_state(browser, "ready")
    # Past --max_text_chars the server answers 400; the page shows its message.
    browser.execute_script("document.getElementById('text').value = 'x'.repeat(10001);")
    browser.find_element(By.ID, "predict-button").click()
    wait_for_state(browser, "error")
    status = browser.find_element(By.ID, "status").text
    assert "texts[0]: 10001 characters is over the limit of 10000" in status


def test_the_placeholder_is_drawn_from_the_models_labels(browser, http_server):
    browser.get(http_server.url + "/")
    wait_for_state(browser, "ready")
    placeholder = browser.find_element(By.ID, "text").get_attribute("placeholder")
    assert "体育、财经、科技、娱乐" in placeholder
    assert "浙江队" not in placeholder


def test_an_empty_text_is_refused_without_asking_the_server(browser, http_server):
    browser.get(http_server.url + "/")
    wait_for_state(browser, "ready")
    browser.execute_script(
        "window.calls = 0; const original = window.fetch;"
        "window.fetch = (...args) => { window.calls += 1; return original(...args); };"
    )
    browser.find_element(By.ID, "text").send_keys("  \n ")
    browser.find_element(By.ID, "predict-button").click()
    wait_for_state(browser, "error")
    assert "empty" in browser.find_element(By.ID, "status").text
    assert browser.execute_script("return window.calls") == 0
    assert not browser.find_element(By.ID, "result").is_displayed()


def test_a_file_is_predicted_and_offered_as_a_download(browser, http_server, predictor, tmp_path):
    import csv
    import io

    texts = ["中超第6轮，浙江队5比0逆转武汉三镇", "央行宣布降准，A股高开"]
    source = tmp_path / "reviews.csv"
    source.write_text(
        "id,text\n" + "".join(f"r{i},{t}\n" for i, t in enumerate(texts)), encoding="utf-8"
    )
    browser.get(http_server.url + "/")
    wait_for_state(browser, "ready")
    browser.find_element(By.ID, "file").send_keys(str(source))
    browser.find_element(By.ID, "id_column").send_keys("id")
    browser.find_element(By.ID, "file-button").click()
    WebDriverWait(browser, 60).until(
        lambda d: (
            d.find_element(By.TAG_NAME, "body").get_attribute("data-file-state")
            in ("done", "error")
        )
    )
    assert browser.find_element(By.ID, "file-status").text == ""
    link = browser.find_element(By.ID, "download")
    assert link.get_attribute("download") == "reviews.predictions.csv"
    content = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then((r) => r.text()).then(done);",
        link.get_attribute("href"),
    )
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0][:3] == ["id", "text", "predicted_label"]
    expected = [p.label for p in predictor.predict(texts)]
    assert [row[:3] for row in rows[1:]] == [
        [f"r{i}", t, label] for i, (t, label) in enumerate(zip(texts, expected, strict=True))
    ]


def test_explain_draws_each_word_on_its_weight(browser, http_server, predictor):
    """Ticking Explain shows the text word by word, each span's background as strong as its
    score (green for, red against), the text set as text: markup in it stays literal."""
    from serving.explaining import ExplainSettings

    browser.get(http_server.url + "/")
    wait_for_state(browser, "ready")
    text = "这家餐厅的菜太难吃了<b>服务</b>也很差"
    browser.find_element(By.ID, "text").send_keys(text)
    browser.find_element(By.ID, "explain").click()
    browser.find_element(By.ID, "predict-button").click()
    wait_for_state(browser, "done")
    attribution = predictor.explain([text], settings=ExplainSettings())[0][0]
    assert browser.find_element(By.ID, "explained-label").text == attribution.label
    spans = browser.find_elements(By.CSS_SELECTOR, "#explained-words .word")
    assert [s.text for s in spans] == [w.word for w in attribution.words]
    assert browser.find_elements(By.CSS_SELECTOR, "#explained-words b") == []
    strongest = max(range(len(spans)), key=lambda i: abs(attribution.words[i].score))
    colour = spans[strongest].value_of_css_property("background-color")
    sign = attribution.words[strongest].score >= 0
    assert colour.startswith("rgba(22, 163, 74" if sign else "rgba(220, 38, 38"), colour
    # unticked: no explanation asked, none shown
    browser.find_element(By.ID, "explain").click()
    browser.find_element(By.ID, "predict-button").click()
    wait_for_state(browser, "done")
    assert not browser.find_element(By.ID, "explanation").is_displayed()
