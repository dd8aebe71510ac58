"""Performance benchmark of parasearch: ``python -m bench.run --index DIR``.

Sections (each can be skipped): encoder throughput and agreement, warm-cache
rebuild, in-process query latency, HTTP throughput beside txtai, service
memory, retrieval quality per encoder backend, and a synthetic 1M-vector
scale test of exact and approximate FAISS indexes. See ``docs/performance.md``.
"""
