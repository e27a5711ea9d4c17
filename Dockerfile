# CityRadar application image: the worker (`cityradar watch`) and the Streamlit UI.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    CITYRADAR_CONFIG=/app/config

# Pango for WeasyPrint (the monthly report's PDF) and a CJK font for Chinese city names
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
       fonts-wqy-zenhei \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml setup.py README.md LICENSE ./
COPY cityradar ./cityradar
COPY ingest ./ingest
COPY nlp ./nlp
COPY search ./search
COPY alerts ./alerts
COPY reports ./reports
COPY ui ./ui
COPY config ./config
RUN pip install ".[elasticsearch]" \
    && useradd --create-home --uid 1000 cityradar \
    && mkdir -p /spool && chown cityradar /spool

USER cityradar
EXPOSE 8501
CMD ["cityradar", "--help"]
