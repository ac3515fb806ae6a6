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
#   .gpu/data  a copy of ../shared/data (about 11 MB), which the tests find through
#              ../shared/data, linked to it below
set -uo pipefail
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit
export PYTHONPATH="$PWD:/tmp/site" PYTHONUNBUFFERED=1 SKLEARN_RNN_DATA="$PWD/.gpu/data"
mkdir -p ../shared && ln -sfn "$PWD/.gpu/data" ../shared/data
nvidia-smi -L
python3 -c "import torch, sklearn, numpy; print('torch', torch.__version__, \
'sklearn', sklearn.__version__, 'numpy', numpy.__version__, torch.cuda.get_device_name())"

# the tests marked cuda first, in a process of their own (a failure there must not
# hide in the whole suite's output), then the whole suite on 12 of the 16 cores (it
# took more than 110 s there on 2026-11-30); PYTEST_ARGS="tests/test_tagger.py ..."
# runs part of it (a rerun)
timeout 60 python3 -m pytest -q -p no:cacheprovider -m cuda 2>&1 \
    | tee "$OUT/pytest_cuda.log" | tail -5
timeout "${TEST_SECONDS:-240}" python3 -m pytest -q -p no:cacheprovider -n 12 \
    --durations=15 ${PYTEST_ARGS:-} 2>&1 | tee "$OUT/pytest.log" | tail -25
# BENCHMARKS="" runs the tests alone
for bench in ${BENCHMARKS-bench_trec.py bench_conll.py}; do
    timeout "${BENCH_SECONDS:-150}" python3 "benchmarks/$bench" --speed --device cuda \
        2>&1 | tee -a "$OUT/benchmarks.log"
done
timeout 90 python3 benchmarks/packing_ab.py --device cuda 2>&1 | tee -a "$OUT/benchmarks.log"
cp benchmarks/results.md "$OUT/results.md"
