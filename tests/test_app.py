"""The Gradio app launched for real and called through gradio_client, as an API user would, and opened in a
real headless Chromium, as a reader would: injected markup must stay text."""
import shutil
import socket

import pytest

from conftest import EXAMPLES
from hostile_inputs import ENGLISH, INJECTION


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(analyzer):
    from cooplens.serve.app import CSS, build_app

    app = build_app(analyzer, max_chars=20_000, max_file_rows=5)
    app.queue(default_concurrency_limit=4, max_size=16)
    port = free_port()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, css=CSS,
               max_file_size="1mb", show_error=False)
    yield f"http://127.0.0.1:{port}/"
    app.close()
    app.result_folders.close()


@pytest.fixture(scope="module")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


def test_analyze_endpoint_returns_types_summary_and_highlighted_source(client):
    text = sorted(EXAMPLES.glob("003_*.txt"))[0].read_text(encoding="utf-8")
    probabilities, summary, evidence, source_html, raw = client.predict(text, api_name="/analyze")
    assert raw["language"] == "fa" and raw["error"] is None
    assert len(probabilities["confidences"]) == 8
    assert "Structured English digest" in summary and raw["predicted_types"]
    assert 'dir="rtl"' in source_html
    assert source_html.count("<mark") >= 1 and raw["evidence"]          # the shipped model cites its evidence
    assert raw["evidence"][0]["sentence"] in evidence
    assert "<b>Who:</b> signed by Ardabil Province (Iran)" in summary           # the actors, as one line


def test_empty_and_oversized_text_get_a_clear_message_not_a_crash(client):
    _, summary, _, _, raw = client.predict("", api_name="/analyze")
    assert "empty text" in raw["error"] and "Could not analyse" in summary
    _, summary, _, _, raw = client.predict("x " * 15_000, api_name="/analyze")
    assert "at most 20,000" in raw["error"]


def test_user_text_comes_back_escaped_never_as_markup(client):
    _, summary, evidence, source_html, raw = client.predict(INJECTION + " " + ENGLISH, api_name="/analyze")
    for fragment in (summary, evidence, source_html):
        assert "<svg" not in fragment and "<img" not in fragment and "<script" not in fragment
    assert "&lt;img src=x onerror" in source_html           # entities stay text, escaped again for the page


def test_batch_file_endpoint_returns_downloadable_results(client, tmp_path):
    from gradio_client import handle_file

    src = tmp_path / "batch.csv"
    src.write_text('id,text\n1,"The WHO and UNICEF launched a joint polio vaccination drive in Pakistan."\n2,\n',
                   encoding="utf-8")
    files, table, note = client.predict(handle_file(str(src)), api_name="/analyze_file")
    assert len(files) == 2 and "1 analysed, 1 failed of 2" in note


def test_a_binary_or_oversized_upload_gets_an_error_message(client, tmp_path):
    from gradio_client import handle_file

    binary = tmp_path / "junk.csv"
    binary.write_bytes(bytes(range(256)) * 50)
    with pytest.raises(Exception, match="CSV header|could not read|columns"):
        client.predict(handle_file(str(binary)), api_name="/analyze_file")
    many = tmp_path / "many.csv"
    many.write_text("id,text\n" + "".join(f"{i},{ENGLISH}\n" for i in range(9)), encoding="utf-8")
    with pytest.raises(Exception, match="at most 5"):
        client.predict(handle_file(str(many)), api_name="/analyze_file")


def test_the_page_shows_the_classification_before_the_summary_is_written(generating_analyzer, seeds):
    """With the generator, /analyze streams: the types, evidence and parties first, then the checked summary."""
    from gradio_client import Client

    from cooplens.serve.app import build_app

    app = build_app(generating_analyzer)
    app.queue()
    port = free_port()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, show_error=False)
    try:
        job = Client(f"http://127.0.0.1:{port}/", verbose=False).submit(seeds["000"], api_name="/analyze")
        final = job.result(timeout=300)
        first = job.outputs()[0]
    finally:
        app.close()
        app.result_folders.close()
    assert len(job.outputs()) == 2
    assert first[4]["summary_kind"] == "pending" and "being written and checked" in first[1]
    assert first[0] == final[0] and first[2] == final[2] and first[3] == final[3]     # types, evidence, source
    assert final[4]["summary_kind"] in ("generated", "abstained") and "being written" not in final[1]
    assert "<b>Who:</b> from Guangzhou (China)" in first[1]           # the actors come with the first stage


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (Debian package chromium; .ci/run installs it)")
def test_injection_strings_pasted_in_a_real_browser_inject_no_element(app_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page()
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(app_url)
        page.get_by_label("Article text (title optional)").fill(INJECTION + " " + ENGLISH)
        page.get_by_role("button", name="Analyse", exact=True).click()
        page.wait_for_selector("mark.coop-evidence, .coop-source", timeout=120_000)
        page.wait_for_timeout(500)
        injected = page.evaluate("""() => ({
            svg: [...document.querySelectorAll('svg[onload]')].length,
            img: [...document.querySelectorAll('img[onerror], img[src="x"]')].length,
            script: [...document.querySelectorAll('script')].filter(s => s.textContent.includes('alert(3)')).length,
            link: [...document.querySelectorAll('a[href^="javascript"]')].length})""")
        text = page.inner_text(".coop-source")
        browser.close()
    assert injected == {"svg": 0, "img": 0, "script": 0, "link": 0}
    assert not dialogs
    assert "<img src=x onerror=alert(2)>" in text           # shown as the text it is
