# Runs on the GPU machine from the project root: fonts into place, then the OCR fine-tune; log to $OUT.
set -e
export PYTHONUNBUFFERED=1 PYTHONPATH=src OMP_NUM_THREADS=1
mkdir -p /usr/local/share/fonts && tar xJf .gpu/fonts.tar.xz -C /usr/local/share/fonts
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
python3 -c "import torch, cv2, PIL, tqdm, onnxruntime, matplotlib; print(torch.__version__, torch.cuda.is_available())"
python3 .gpu/run_ocr.py "$@" 2>&1 | tr '\r' '\n' | grep -v "it/s[],]\|s/it[],]" | tee $OUT/train.log
