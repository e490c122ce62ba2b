"""The outputs shown in README.md and docs/ are what the commands print now (docs/outputs.py)."""

import pytest

from docs import outputs

README = outputs.ROOT / "README.md"


@pytest.fixture(scope="module")
def fresh() -> dict[str, str]:
    # One run: the CLI, and one service (a second for the deadline). The slow outputs (the
    # real-photo evaluation, the improving.md walk-through: a minute more) are left to
    # `python -m docs.outputs --check` (make docs-outputs).
    return outputs.make_all(slow=False)


def _blocks() -> list[outputs.Block]:
    return [block for page in outputs.PAGES for block in outputs.find_blocks(page)]


def test_every_shown_output_matches_a_fresh_run(fresh):
    problems = outputs.check(_blocks(), fresh)
    assert not problems, "\n\n".join(problems) + "\n\nRun: python -m docs.outputs --write"


def test_a_changed_answer_is_flagged_and_a_changed_timing_is_not(fresh):
    text = README.read_text(encoding="utf-8")
    block = next(b for b in outputs.find_blocks(README, text) if b.name == "cli-predict-rowing")
    assert "  1. brown " in block.body  # the line edited below
    edits = {"1. brown ": "1. beige ", "total ": "total 9"}
    for old, new in edits.items():
        edited = text.replace(old, new, 1)
        assert edited != text
        problems = outputs.check(outputs.find_blocks(README, edited), fresh)
        flagged = [p for p in problems if p.startswith("README.md: cli-predict-rowing")]
        if old == "total ":
            assert flagged == []
        else:
            assert flagged and "-  1. beige" in flagged[0] and "+  1. brown" in flagged[0]


def test_a_service_answer_that_drifted_is_flagged(fresh):
    page = outputs.ROOT / "docs" / "service.md"
    text = page.read_text(encoding="utf-8")
    edited = text.replace('"prediction_id":1,"recorded":{"color":"red"',
                          '"prediction_id":1,"recorded":{"color":"blue"', 1)
    assert edited != text
    problems = outputs.check(outputs.find_blocks(page, edited), fresh)
    assert [p.split(" drifted")[0] for p in problems if "drifted" in p] == [
        "docs/service.md: service-curl-feedback"]


def test_unknown_blocks_are_flagged_and_recorded_ones_are_left_alone(fresh):
    text = ("<!-- output: nobody-makes-this -->\n```\nhi\n```\n<!-- /output -->\n"
            "<!-- output: a-long-retrain recorded -->\n```\n100 %\n```\n<!-- /output -->\n")
    blocks = outputs.find_blocks(README, text)
    assert [(b.name, b.recorded) for b in blocks] == [("nobody-makes-this", False),
                                                      ("a-long-retrain", True)]
    problems = outputs.check(blocks, fresh)
    assert problems[0] == "README.md: nobody-makes-this: no command makes this block " \
                          "(docs/outputs.py)"
    assert "cli-predict-rowing: made by docs/outputs.py but shown on no page" in problems


def test_write_puts_the_fresh_run_in_the_page(fresh, tmp_path):
    page = tmp_path / "README.md"
    page.write_text(README.read_text(encoding="utf-8").replace("1. brown ", "1. beige ", 1))
    assert outputs.rewrite(page, fresh)
    block = next(b for b in outputs.find_blocks(page) if b.name == "cli-predict-rowing")
    assert block.body == fresh["cli-predict-rowing"]
    assert not outputs.rewrite(page, fresh)  # nothing left to change


def test_slow_outputs_are_skipped_here_but_an_unknown_name_never_is(fresh):
    assert {"readme-eval-photos", "improving-evaluate-before"} <= {
        name for name, out in outputs.OUTPUTS.items() if out.slow}
    assert "readme-eval-photos" not in fresh and "cli-predict-rowing" in fresh


def test_the_json_fold_keeps_json_tools_shape():
    value = {"a": [{"label": "red", "score": 0.5}], "b": {"long": "x" * 200}}
    assert outputs.folded(value) == (
        '{\n    "a": [{"label": "red", "score": 0.5}],\n    "b": {\n'
        f'        "long": "{"x" * 200}"\n    }}\n}}')


def test_check_exits_1_and_names_the_block_when_a_command_prints_something_else(
        fresh, monkeypatch, capsys):
    changed = {**fresh, "service-curl-feedback": fresh["service-curl-feedback"].replace(
        '"theme":null', '"theme":"Travel"')}
    monkeypatch.setattr(outputs, "make_all", lambda: changed)
    assert outputs.main(["--check"]) == 1
    assert "docs/service.md: service-curl-feedback drifted" in capsys.readouterr().err
    monkeypatch.setattr(outputs, "make_all", lambda: fresh)  # the slow ones are not in it
    assert outputs.main(["--check"]) == 0
