package testkit

import (
	"testing"
	"time"
)

// Measure benchmarks op beside raw, the bare DynamoDB calls op needs issued
// directly, interleaved so both see the same machine. It reports op's time
// (ns/op), raw's time (raw-ns/op), their ratio (handler/raw), op's
// DynamoDB calls (ddb-calls/op) and the capacity units they consumed
// (RCU/op, WCU/op: see ReportCapacity).
func (e *Env) Measure(b *testing.B, op, raw func(b *testing.B)) {
	b.Helper()
	op(b) // warm up both paths and the connection pool
	raw(b)
	var opTime, rawTime time.Duration
	var calls int64
	var rcu, wcu float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Calls.Reset()
		start := time.Now()
		op(b)
		opTime += time.Since(start)
		calls += e.Calls.Count()
		r, w := e.Calls.Capacity()
		rcu, wcu = rcu+r, wcu+w
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
	ReportCapacity(b, rcu, wcu)
}

// ReportCapacity reports the read and write capacity units b's operations
// consumed in all, per operation: RCU/op and WCU/op. In on-demand mode these
// are the read and write request units DynamoDB bills (a transactional item
// counts double; a conditional write that fails is not counted, as its answer
// is an error). The Env of a benchmark asks DynamoDB for them (New).
func ReportCapacity(b *testing.B, rcu, wcu float64) {
	b.ReportMetric(rcu/float64(b.N), "RCU/op")
	b.ReportMetric(wcu/float64(b.N), "WCU/op")
}
