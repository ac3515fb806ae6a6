"""scikit-learn's own estimator checks over every public estimator, each expected
failure listed with its reason.

The classifier and the regressor take the checks' 2-D numeric input and 1-D targets
as they are and pass all but one check. The taggers need one label per step (a list
of label lists) and the translator a target sequence per sample, which the checks
never give, so every check that fits fails for that one reason; their own tests
check the same properties (clone, parameters, pickling, not fitted, idempotent fit,
nothing set in ``__init__``) on ragged data (``tests/test_tagger.py``,
``tests/test_ensemble.py``, ``tests/test_translator.py``, ``tests/test_trust.py``). The
generator reads text only, and scikit-learn runs only the checks that need no array
for it (its tags say so); ``tests/test_generator.py`` checks the rest.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_rnn import (
    CharLMGenerator,
    EnsembleTagger,
    LSTMSequenceTagger,
    RNNClassifier,
    RNNRegressor,
    RNNTranslator,
)

# Small and quick, but able to learn scikit-learn's toy problems to the checks' margins.
FAST = dict(
    cell="gru",
    hidden_size=16,
    learning_rate_init=1e-2,
    max_iter=60,
    n_iter_no_change=5,
    random_state=0,
)
FAST_TAGGER = dict(hidden_size=8, embedding_dim=8, char_filters=4, max_iter=5)

STOCHASTIC_WEIGHTS = (
    "training is mini-batch stochastic: a weight of 2 scales a sample's gradient "
    "in one batch, a repeated sample lands in another batch and shifts every later "
    "batch, so the two fits differ (as for MLPClassifier)"
)
RAGGED_Y = (
    "the check gives one label per sample (y of shape (n_samples,)); a tagger needs "
    "one label per step (a list of label lists) and refuses other y with a TypeError "
    "naming the sample. tests/test_tagger.py checks the same property on ragged y"
)
# every check of scikit-learn 1.9 that fits a tagger
CHECKS_THAT_FIT = [
    "check_all_zero_sample_weights_error",
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_dtype_object",
    "check_estimators_dtypes",
    "check_estimators_fit_returns_self",
    "check_estimators_nan_inf",
    "check_estimators_overwrite_params",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_fit2d_1feature",
    "check_fit2d_1sample",
    "check_fit2d_predict1d",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_fit_score_takes_y",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_pipeline_consistency",
    "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input",
    "check_sample_weight_equivalence_on_dense_data",
    "check_sample_weights_list",
    "check_sample_weights_not_an_array",
    "check_sample_weights_not_overwritten",
    "check_sample_weights_pandas_series",
    "check_sample_weights_shape",
]
TAGGER_TRANSFORMER_CHECKS = [
    "check_transformer_data_not_an_array",
    "check_transformer_general",
    "check_transformer_n_iter",
]

WEIGHT_EQUIVALENCE = "check_sample_weight_equivalence_on_dense_data"
EXPECTED_FAILURES = {
    RNNClassifier: {
        "check_sample_weight_equivalence_on_dense_data": STOCHASTIC_WEIGHTS
    },
    RNNRegressor: {"check_sample_weight_equivalence_on_dense_data": STOCHASTIC_WEIGHTS},
    LSTMSequenceTagger: dict.fromkeys(
        CHECKS_THAT_FIT + TAGGER_TRANSFORMER_CHECKS, RAGGED_Y
    ),
    # check_transformer_n_iter reads n_iter_, which an ensemble does not have
    EnsembleTagger: dict.fromkeys(
        CHECKS_THAT_FIT + TAGGER_TRANSFORMER_CHECKS[:2], RAGGED_Y
    ),
    CharLMGenerator: {},
    RNNTranslator: dict.fromkeys(
        CHECKS_THAT_FIT,
        "the check gives one number per sample as y; a translator needs a target "
        "sequence per sample (a string or a list of symbols) and refuses other y with "
        "a TypeError naming the sample. tests/test_translator.py checks the same "
        "property on sequences",
    ),
}


def expected_failed_checks(estimator):
    return EXPECTED_FAILURES[type(estimator)]


@parametrize_with_checks(
    [
        RNNClassifier(**FAST),
        RNNRegressor(**FAST),
        LSTMSequenceTagger(**FAST_TAGGER, random_state=0),
        EnsembleTagger(LSTMSequenceTagger(**FAST_TAGGER), n_estimators=2),
        CharLMGenerator(hidden_size=8, num_layers=1, max_iter=3, random_state=0),
        RNNTranslator(hidden_size=8, embedding_dim=8, max_iter=3, random_state=0),
    ],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
