from bench.loadtest import format_report, summary


def test_summary_separates_answers_shed_503s_and_other_failures():
    samples = [(i / 1000, "200") for i in range(1, 101)]  # 1..100 ms
    samples += [(0.005, "503 Overloaded")] * 3 + [(6.0, "503 StoreBusy"), (1.0, "ConnectError")]
    row = summary(8, samples, elapsed=10.0)
    assert (row["requests"], row["ok"], row["ok_per_s"]) == (105, 100, 10.0)
    assert (row["p50_ms"], row["p95_ms"], row["p99_ms"]) == (50.5, 95.0, 99.0)
    assert (row["shed_503"], row["shed_p50_ms"], row["errors"]) == (3, 5.0, 2)
    table = format_report({"levels": [row], "rss": {"after_warm_up_mb": 700.0}})
    assert "| 8 | 105 | 10.0 | 50.5 | 95.0 | 99.0 | 3 (5.0) | 2 |" in table
    assert table.endswith("server RSS (MB): after_warm_up_mb 700.0")
