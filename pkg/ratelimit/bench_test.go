package ratelimit

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkAllow is one limiter check, sequential, with its latency
// percentiles: p50/p99 in microseconds next to ns/op.
func BenchmarkAllow(b *testing.B) {
	for _, impl := range implementations {
		b.Run(impl.name, func(b *testing.B) {
			l := impl.new(b)
			lim := Limit{1 << 30, time.Hour} // never refuses: measure the check, not the 429
			lat := make([]time.Duration, 0, 1<<16)
			i := 0
			for b.Loop() {
				key := fmt.Sprintf("client-%d", i%1000)
				i++
				start := time.Now()
				if _, err := l.Allow(b.Context(), key, lim); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			reportPercentiles(b, lat)
		})
	}
}

// BenchmarkAllowParallel is the same check from concurrent requests.
func BenchmarkAllowParallel(b *testing.B) {
	for _, impl := range implementations {
		b.Run(impl.name, func(b *testing.B) {
			l := impl.new(b)
			lim := Limit{1 << 30, time.Hour}
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					if _, err := l.Allow(b.Context(), fmt.Sprintf("client-%d", i%1000), lim); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	at := func(q float64) float64 {
		return float64(lat[int(q*float64(len(lat)-1))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
}
