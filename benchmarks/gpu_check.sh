#!/usr/bin/env bash
# Everything a lent GPU machine checks, in one call: the test suite with
# device="auto" resolving to CUDA (so every estimator trains and predicts there, and
# the CUDA-only tests run), then the speed benchmarks (--speed) on the GPU beside
# their references on the same GPU. Logs and the results table come back under $OUT.
#
# That machine reaches no network, so two things travel with the call (both ignored
# by git; name them in `carry`):
#   .whl       wheels for Python 3.12 that its image lacks: seqeval (tests),
#              python-crfsuite and sklearn-crfsuite (bench_conll's reference)
#   .gpu/data  copies of ../shared/data/{conll2003,trec,japanese_vowels}
set -uo pipefail
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit
export PYTHONPATH="$PWD:/tmp/site" PYTHONUNBUFFERED=1 SKLEARN_RNN_DATA="$PWD/.gpu/data"
nvidia-smi -L
python3 -c "import torch, sklearn, numpy; print('torch', torch.__version__, \
'sklearn', sklearn.__version__, 'numpy', numpy.__version__, torch.cuda.get_device_name())"

# PYTEST_ARGS="tests/test_tagger.py ..." runs part of the suite (a rerun)
timeout "${TEST_SECONDS:-300}" python3 -m pytest -q -p no:cacheprovider --durations=15 \
    ${PYTEST_ARGS:-} 2>&1 | tee "$OUT/pytest.log" | grep -v "^tests/.* PASSED"
# BENCHMARKS="" runs the tests alone
for bench in ${BENCHMARKS-bench_trec.py bench_conll.py}; do
    timeout "${BENCH_SECONDS:-150}" python3 "benchmarks/$bench" --speed --device cuda \
        2>&1 | tee -a "$OUT/benchmarks.log"
done
cp benchmarks/results.md "$OUT/results.md"
