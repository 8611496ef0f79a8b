package testkit

import (
	"testing"
	"time"
)

// Measure benchmarks op beside raw, the bare DynamoDB calls op needs issued
// directly, interleaved so both see the same machine. It reports op's time
// (ns/op), raw's time (raw-ns/op), their ratio (handler/raw) and op's
// DynamoDB calls (ddb-calls/op).
func (e *Env) Measure(b *testing.B, op, raw func(b *testing.B)) {
	b.Helper()
	op(b) // warm up both paths and the connection pool
	raw(b)
	var opTime, rawTime time.Duration
	var calls int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Calls.Reset()
		start := time.Now()
		op(b)
		opTime += time.Since(start)
		calls += e.Calls.Count()
		start = time.Now()
		raw(b)
		rawTime += time.Since(start)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(opTime.Nanoseconds())/n, "ns/op")
	b.ReportMetric(float64(rawTime.Nanoseconds())/n, "raw-ns/op")
	b.ReportMetric(float64(opTime)/float64(rawTime), "handler/raw")
	b.ReportMetric(float64(calls)/n, "ddb-calls/op")
}
