"""``verbose=2``: tqdm where a person watches, plain lines in logs (no carriage
returns, no escape codes), members of an ensemble named, generation shown too."""

import io
import warnings

import pytest
from sklearn.exceptions import ConvergenceWarning

from sklearn_rnn import CharLMGenerator, EnsembleTagger, LSTMSequenceTagger
from sklearn_rnn._progress import Bar

pytestmark = pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_log_gets_plain_lines_with_rate_and_time_left():
    log = io.StringIO()
    bar = Bar(8, desc="epoch 1", unit="batch", stream=log)
    for done in range(1, 9):
        bar.update(done)
    bar.close()
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and "\x1b" not in log.getvalue()
    assert len(lines) == 4  # one at each quarter
    assert lines[0].startswith("epoch 1 [#######") and "2/8 batches" in lines[0]
    assert "batch/s" in lines[0] and "s left" in lines[0]
    assert "8/8 batches" in lines[-1] and "left" not in lines[-1]


def test_a_terminal_gets_one_redrawn_line():
    pytest.importorskip("tqdm")
    screen = Terminal()
    bar = Bar(5, desc="epoch 3", unit="batch", stream=screen, interval=0)
    for done in range(1, 6):
        bar.update(done)
    bar.close()
    text = screen.getvalue()
    assert "\r" in text and "\n" not in text  # tqdm redraws, then clears its line
    assert "epoch 3" in text and "5/5" in text and "batch/s" in text


def test_generation_shows_its_progress(capsys):
    gen = CharLMGenerator(hidden_size=8, num_layers=1, max_iter=1, random_state=0)
    gen.fit("hello world " * 20)
    gen.set_params(verbose=2).generate(64, stop_at_end=False, random_state=0)
    err = capsys.readouterr().err
    assert "generate [" in err and "64/64 chars" in err and "\r" not in err


def test_work_done_in_leaps_still_gets_its_quarter_lines():
    log = io.StringIO()
    bar = Bar(1000, desc="score", unit="char", stream=log)
    for done in (300, 700, 1000):  # past 250; past 500 and 750; the end
        bar.update(done)
    bar.close()
    lines = log.getvalue().splitlines()
    # one line per update that passed a quarter: 700 passed two, drawn once
    assert [line.split("] ")[1].split()[0] for line in lines] == [
        "300/1000",
        "700/1000",
        "1000/1000",
    ]


def test_scoring_a_long_text_shows_its_progress(capsys):
    generator = CharLMGenerator(
        hidden_size=8, embedding_dim=4, num_layers=1, max_iter=1, random_state=0
    ).fit("abc " * 50)
    generator.set_params(verbose=2)
    generator.score("abcd " * 30_000)  # 150,000 characters: three pieces
    err = capsys.readouterr().err
    assert "score" in err and "char" in err and "\r" not in err
    assert len(err.splitlines()) >= 2


def test_ensemble_members_name_their_lines(capsys, ner_data, tagger_params):
    X, y = ner_data(16)
    member = LSTMSequenceTagger(**{**tagger_params, "max_iter": 1, "verbose": 1})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ensemble = EnsembleTagger(member, n_estimators=2, random_state=0).fit(X, y)
    out = capsys.readouterr().out.splitlines()
    assert [line.split("]")[0] for line in out] == ["[member 1/2", "[member 2/2"]
    assert out[0].startswith("[member 1/2] Epoch 1, loss = ")
    assert not hasattr(ensemble.estimators_[0], "_progress")
