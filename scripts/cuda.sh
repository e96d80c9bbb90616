#!/usr/bin/env bash
# On a machine with a CUDA GPU and the project's dependencies: the CUDA tests, the engine and
# AppTest suites with the app's default device (auto = the GPU), and the benchmark with its CUDA rows.
# Logs and the bench's JSON go to the folder given (default: ./cuda-report).
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-cuda-report}"
mkdir -p "$out"
python3 -c "import torch; assert torch.cuda.is_available(), 'no CUDA GPU'; print(torch.__version__, torch.cuda.get_device_name())" \
  | tee "$out/device.txt" || exit 1
status=0
python3 -m pytest -q -p no:cacheprovider -m cuda tests/test_cuda.py tests/test_train.py 2>&1 | tee "$out/cuda_tests.log" || status=1
python3 -m nnplay bench --json > "$out/bench.json" || status=1
python3 -c "import json, sys; from nnplay import bench; print(bench.report(json.load(open(sys.argv[1]))))" "$out/bench.json" \
  | tee "$out/bench.txt" || status=1
python3 -m pytest -q -p no:cacheprovider tests/test_train.py tests/test_backprop.py tests/test_sweep.py tests/test_app.py \
  tests/test_compare_sweep_app.py 2>&1 | tee "$out/suites.log" || status=1
exit $status
