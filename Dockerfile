# The Grad-CAM explorer for a lab server: one replica per container, behind nginx
# (demo/deploy/nginx-gradcam.conf; README "The lab server").
#   docker build -t gradcam-explorer .
#   docker run -p 127.0.0.1:7860:7860 gradcam-explorer --root-path /gradcam --class-size 100
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    EXERCISE_LOGIC_CACHE=/opt/explorer/models

WORKDIR /opt/explorer
COPY pyproject.toml README.md ./
COPY exercise_logic ./exercise_logic
RUN pip install ".[cpu,demo]"

# The model is trained once, at build time, into a cache owned by root: the app only reads it.
RUN python -m exercise_logic train --dataset synthetic --model simple --epochs 5
COPY demo ./demo

RUN useradd --system --no-create-home --home-dir /nonexistent explorer
USER explorer
EXPOSE 7860
# The app's own files (Gradio's cache, outputs) go to /tmp, never to the model cache.
ENTRYPOINT ["python", "-m", "demo", "--host", "0.0.0.0", "--port", "7860", "--dataset", "synthetic-28", "--workdir", "/tmp/explorer"]
CMD ["--class-size", "100"]
