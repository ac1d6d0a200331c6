# The HTTP server (zh-textclf-serve) over an export mounted at /models, as a non-root user:
#   docker build -t zh-textclf .
#   docker run --rm -p 8501:8501 -v "$PWD/exported/my_task:/models:ro" -e MODEL_NAME=my_task zh-textclf
# /models holds what scripts/export.sh --export_dir writes: version folders <int>/ (the highest
# is served; a newer one copied in later is picked up without a restart). Extra arguments after
# the image name are zh-textclf-serve flags (--threads 4, --max_batch_size 16, --version 3, ...).
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2

# The pinned runtime requirements first: this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt && rm /tmp/requirements.txt

# The package itself (not editable; its dependencies are the pins above), sources removed after.
WORKDIR /tmp/zh-textclf
COPY pyproject.toml setup.py README.md ./
COPY classifier/ classifier/
COPY processors/ processors/
COPY export/ export/
COPY serving/ serving/
COPY curation/ curation/
COPY scripts/ scripts/
RUN pip install --no-cache-dir --no-deps . \
    && pip check \
    && cd / && rm -rf /tmp/zh-textclf

# A non-root user (numeric, so that runAsNonRoot policies can check it); /models is only read.
RUN groupadd --gid 10001 zhtextclf \
    && useradd --uid 10001 --gid 10001 --create-home --shell /usr/sbin/nologin zhtextclf \
    && mkdir /models
USER 10001:10001
WORKDIR /home/zhtextclf

# MODEL_NAME: the name in /v1/models/<name>:predict; PORT: the port the server listens on.
ENV MODEL_NAME=model \
    PORT=8501
EXPOSE 8501
VOLUME ["/models"]

# 200 while serving, 503 while draining on SIGTERM, no answer while loading (start period).
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; r.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8501'), timeout=4)"]

# exec: the server is PID 1 and gets docker stop's SIGTERM (graceful: requests in flight finish).
ENTRYPOINT ["/bin/sh", "-c", "exec zh-textclf-serve --export_dir /models --host 0.0.0.0 --port \"$PORT\" --model_name \"$MODEL_NAME\" \"$@\"", "zh-textclf-serve"]
CMD []
