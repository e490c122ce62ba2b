"""Developer tools that measure Pinpoint, kept out of the product package `predictor/`.

    python -m bench.loadtest     a bounded load test of the service on loopback
    python -m bench.ray_serve    the single-process service against Ray Serve
    python -m bench.cluster      two Ray nodes, PostgreSQL, Redis: costs per click, a node lost
    python -m bench.probe        (run by `python -m predictor bench`) cold start and memory

`python -m predictor bench` stays in the product; it uses `bench.naive` and `bench.probe`.
"""
