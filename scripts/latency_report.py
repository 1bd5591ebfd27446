"""p50/p95 line shared by the latency callers (scripts/latency_sip.py, latency_webrtc.py)."""
import statistics


def summary(title, values):
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return (f"{title}: n {len(values)} p50 {statistics.median(values):.0f} ms "
            f"p95 {p95:.0f} ms min {values[0]:.0f} max {values[-1]:.0f}")
