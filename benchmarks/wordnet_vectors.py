"""Word vectors read off WordNet: what kind of thing each word names.

A TREC-6 question is mostly classified by its head word, and the word is often rare:
"What Texas surgeon ...", "What actor ...". The training file cannot say that a surgeon
is a person when it holds the word once or never; WordNet (Princeton WordNet 3.0,
Miller 1995) can. These vectors put, for every sense of a word (weights 1/rank within
each part of speech, summing to 1), weight on its lexicographer file (45 of them:
noun.person, noun.location, noun.quantity, ...) and on the hypernyms above it (person,
organism, city, ...) that are most common among the training words. They go into
``RNNClassifier(pretrained_embeddings=...)`` beside a part that the network learns,
as it learns the default embedding; a word met only when predicting gets its WordNet
part and nothing learned.

WordNet is read from its database files (``index.noun``, ``data.noun``, ... and the
``*.exc`` exception lists): Debian and Ubuntu's package ``wordnet-base`` installs them
in /usr/share/wordnet (``apt-get install wordnet-base``), NLTK's ``corpora/wordnet``
holds the same files; ``WORDNET_DIR`` points elsewhere. Nothing is downloaded.
WordNet's licence allows use and redistribution with its copyright notice; nothing of
it is bundled here.
"""

import os
from collections import defaultdict
from pathlib import Path

import numpy as np

N_LEXICOGRAPHER_FILES = 45
PARTS_OF_SPEECH = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}
# WordNet's own detachment rules for inflected forms (morphy), by part of speech
SUFFIXES = {
    "n": [("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch")]
    + [("shes", "sh"), ("men", "man"), ("ies", "y")],
    "v": [("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", "")]
    + [("ing", "e"), ("ing", "")],
    "a": [("er", ""), ("est", ""), ("er", "e"), ("est", "e")],
    "r": [],
}


def wordnet_dir():
    """Where WordNet's database files lie: ``WORDNET_DIR`` or Debian's place."""
    path = Path(os.environ.get("WORDNET_DIR", "/usr/share/wordnet"))
    if not (path / "data.noun").exists():
        raise SystemExit(
            f"WordNet's database files are not in {path}: install them "
            "(apt-get install wordnet-base) or set WORDNET_DIR to a folder holding "
            "index.noun, data.noun, ..."
        )
    return path


class WordNet:
    """Senses and hypernyms of English words, from WordNet's database files."""

    def __init__(self, path=None):
        path = wordnet_dir() if path is None else Path(path)
        self.index = {}  # (lemma, pos) -> synset offsets, most frequent sense first
        self.synsets = {}  # (offset, pos) -> (lexicographer file, hypernym keys)
        self.exceptions = {}  # (inflected form, pos) -> base forms
        self._closure = {}  # synset key -> its ancestors (common_ancestors and
        # wordnet_features both walk them for every training word)
        for pos, name in PARTS_OF_SPEECH.items():
            self._read_index(path / f"index.{name}", pos)
            self._read_data(path / f"data.{name}", pos)
            exceptions = path / f"{name}.exc"
            if exceptions.exists():
                for line in exceptions.read_text(encoding="latin-1").splitlines():
                    form, *bases = line.split()
                    self.exceptions.setdefault((form, pos), bases)

    def _read_index(self, path, pos):
        # lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt offsets...
        for line in path.read_text(encoding="latin-1").splitlines():
            if line.startswith("  "):  # the licence at the top of each file
                continue
            fields = line.split()
            self.index[(fields[0], pos)] = fields[-int(fields[2]) :]

    def _read_data(self, path, pos):
        # offset lex_filenum ss_type w_cnt (word lex_id)... p_cnt (ptr offset pos st)...
        for line in path.read_text(encoding="latin-1").splitlines():
            if line.startswith("  "):
                continue
            fields = line.split(" | ")[0].split()
            first_pointer = 5 + 2 * int(fields[3], 16)
            hypernyms = []
            for i in range(int(fields[first_pointer - 1])):
                symbol, offset, target = fields[first_pointer + 4 * i :][:3]
                if symbol in ("@", "@i"):  # hypernym, instance of
                    hypernyms.append((offset, "a" if target == "s" else target))
            self.synsets[(fields[0], pos)] = (int(fields[1]), hypernyms)

    def base_form(self, word, pos):
        """The first base form of ``word`` that WordNet lists as ``pos``, or None."""
        candidates = [word, *self.exceptions.get((word, pos), [])]
        candidates += [
            word[: -len(end)] + base
            for end, base in SUFFIXES[pos]
            if word.endswith(end) and len(word) > len(end)
        ]
        return next((c for c in candidates if (c, pos) in self.index), None)

    def senses(self, word):
        """``[(weight, synset key)]`` of ``word``; weights 1/rank, summing to 1 within
        each part of speech that knows the word."""
        senses = []
        for pos in PARTS_OF_SPEECH:
            base = self.base_form(word, pos)
            if base is None:
                continue
            offsets = self.index[(base, pos)]
            weights = 1.0 / np.arange(1, len(offsets) + 1)
            weights /= weights.sum()
            senses += [(w, (o, pos)) for w, o in zip(weights, offsets, strict=True)]
        return senses

    def ancestors(self, key):
        """``key`` and every synset above it (hypernyms, instance-of), transitively:
        a frozenset."""
        if key not in self._closure:
            seen, todo = set(), [key]
            while todo:
                above = todo.pop()
                if above not in seen:
                    seen.add(above)
                    todo += self.synsets[above][1]
            self._closure[key] = frozenset(seen)
        return self._closure[key]


def common_ancestors(words, wordnet, n_ancestors=100, max_share=0.3):
    """The ``n_ancestors`` synsets above the senses of ``words`` that carry the most
    weight over them, leaving out those whose weight reaches ``max_share`` of the
    words known to WordNet ("entity" and the like tell nothing)."""
    mass, n_known = defaultdict(float), 0
    for word in sorted(words):
        senses = wordnet.senses(word.lower())
        n_known += bool(senses)
        for weight, key in senses:
            for above in wordnet.ancestors(key):
                mass[above] += weight
    common = sorted(  # ties in order of offset, whatever the hash seed
        (key for key in mass if mass[key] < max_share * n_known),
        key=lambda key: (mass[key], key),
    )
    return common[::-1][:n_ancestors]


def wordnet_features(words, wordnet, ancestors=()):
    """``{word: vector}`` for those of ``words`` WordNet knows (looked up
    lowercased), of length 45 + ``len(ancestors)``: each sense's weight on its
    lexicographer file and on those of ``ancestors`` above it, divided by the number
    of parts of speech the word has. A word's vector depends on WordNet and
    ``ancestors`` alone, never on the other words."""
    column = {key: N_LEXICOGRAPHER_FILES + i for i, key in enumerate(ancestors)}
    vectors = {}
    for word in words:
        senses = wordnet.senses(word.lower())
        if not senses:
            continue
        vector = np.zeros(N_LEXICOGRAPHER_FILES + len(column), np.float32)
        for weight, key in senses:
            vector[wordnet.synsets[key][0]] += weight
            for above in wordnet.ancestors(key) & column.keys():
                vector[column[above]] += weight
        vectors[word] = vector / len({pos for _, (_, pos) in senses})
    return vectors


def with_learned_part(features, dim=300, *, learned=None, scale=5.0, random_state=0):
    """Pretrained vectors of length ``dim`` from :func:`wordnet_features`: ``scale``
    times the features, then a part that the network learns, drawn from N(0, 1) (as
    the rows of words WordNet does not know are) for the words in ``learned`` (all
    when None), zeros for the others: words met only when predicting, which no
    training moves."""
    n_features = len(next(iter(features.values()), ()))
    if dim < n_features:
        raise ValueError(f"dim={dim} is shorter than the {n_features} features")
    rng = np.random.RandomState(random_state)
    vectors = {}
    for word, vector in sorted(features.items()):
        part = np.zeros(dim - n_features, np.float32)
        if learned is None or word in learned:  # draws depend on these words only
            part[:] = rng.standard_normal(dim - n_features)
        vectors[word] = np.concatenate([scale * vector, part])
    return vectors
