"""The service's Prometheus metrics, in one registry, served as text by ``GET /metrics``.

Every metric the service records is defined here, so the names are in one place; the modules that record them
import them from here.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

LATENCY_BUCKETS = (0.005, 0.01, 0.02, 0.04, 0.08, 0.15, 0.3, 0.6, 1.2, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter("parasearch_requests_total", "HTTP requests by route template, method and status",
                   ["route", "method", "status"], registry=REGISTRY)
REQUEST_SECONDS = Histogram("parasearch_request_seconds", "HTTP request latency by route template",
                            ["route", "method"], buckets=LATENCY_BUCKETS, registry=REGISTRY)
RATE_LIMITED = Counter("parasearch_rate_limited_total",
                       "Requests refused with 429 by a rate limit or a concurrency cap (service/limits.py), by "
                       "route template and reason (rate, concurrency)", ["route", "reason"], registry=REGISTRY)
ANSWERS_IN_PROGRESS = Gauge("parasearch_answers_in_progress",
                            "Answers being computed now (POST /answer and /answer/stream; each holds one of "
                            "PARASEARCH_ANSWER_CONCURRENCY slots)", registry=REGISTRY)
GENERATION_SWITCHES = Counter("parasearch_generation_switches_total",
                              "Times the service switched to a newly published index generation", registry=REGISTRY)
INDEX_DOCUMENTS = Gauge("parasearch_index_documents", "Documents in the index generation being served",
                        registry=REGISTRY)
INDEX_PARAGRAPHS = Gauge("parasearch_index_paragraphs", "Paragraphs in the index generation being served",
                         registry=REGISTRY)
INDEX_GENERATION_BUILT = Gauge("parasearch_index_built_timestamp_seconds",
                               "Build time (Unix seconds) of the index generation being served", registry=REGISTRY)
SEARCH_SECONDS = Histogram("parasearch_search_seconds",
                           "Search time inside the engine (the search's took_ms), by mode: GET /search",
                           ["mode"], buckets=LATENCY_BUCKETS, registry=REGISTRY)
ANSWER_SECONDS = Histogram("parasearch_answer_seconds",
                           "Answer time inside the service (the answer's took_ms: retrieval and writing), by method "
                           "(extractive, llm, extractive_fallback when the language model failed)",
                           ["method"], buckets=LATENCY_BUCKETS, registry=REGISTRY)
QUERY_EMBED_SECONDS = Histogram("parasearch_query_embedding_seconds",
                                "Time to encode one query (a query-cache miss), by model", ["model"],
                                buckets=LATENCY_BUCKETS, registry=REGISTRY)
QUERY_CACHE_HITS = Counter("parasearch_query_cache_hits_total",
                           "Query vectors found in the engine's query-embedding cache, by model", ["model"],
                           registry=REGISTRY)
QUERY_CACHE_MISSES = Counter("parasearch_query_cache_misses_total",
                             "Query vectors not in the engine's query-embedding cache (encoded), by model", ["model"],
                             registry=REGISTRY)
