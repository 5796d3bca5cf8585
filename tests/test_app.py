"""The Gradio app launched for real and called through gradio_client, as an API user would."""
import socket

import pytest

from conftest import EXAMPLES


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(analyzer):
    from cooplens.serve.app import CSS, build_app

    app = build_app(analyzer)
    app.queue(default_concurrency_limit=4)
    port = free_port()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, css=CSS)
    yield f"http://127.0.0.1:{port}/"
    app.close()


def test_analyze_endpoint_returns_types_summary_and_highlighted_source(app_url):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    text = sorted(EXAMPLES.glob("003_*.txt"))[0].read_text(encoding="utf-8")
    probabilities, summary, evidence, source_html, raw = client.predict(text, api_name="/analyze")
    assert raw["language"] == "fa" and raw["error"] is None
    assert len(probabilities["confidences"]) == 8
    if raw["summary_kind"] == "generated":     # the generated summary, its label, and the digest beside it
        assert "Generated English summary" in summary and raw["summary_en"] in summary and raw["digest"] in summary
    else:                                      # withheld by the faithfulness guard: the UI says so
        assert "withheld" in summary and raw["digest"] in summary
    assert 'dir="rtl"' in source_html
    if raw["evidence"]:
        assert "<mark" in source_html


def test_empty_text_gets_a_clear_message_not_a_crash(app_url):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    _, summary, _, _, raw = client.predict("", api_name="/analyze")
    assert "empty text" in raw["error"] and "Could not analyse" in summary


def test_batch_file_endpoint_returns_downloadable_results(app_url, tmp_path):
    from gradio_client import Client, handle_file

    src = tmp_path / "batch.csv"
    src.write_text('id,text\n1,"The WHO and UNICEF launched a joint polio vaccination drive in Pakistan."\n2,\n',
                   encoding="utf-8")
    client = Client(app_url, verbose=False)
    files, table, note = client.predict(handle_file(str(src)), api_name="/analyze_file")
    assert len(files) == 2 and "1 analysed, 1 failed of 2" in note
