// loadgen drives a server that speaks Go's net/rpc/jsonrpc dialect and verifies every reply.
//
// Each of -c connections keeps -d requests outstanding; one goroutine per connection reads every
// complete reply in its buffer, then writes all replacement requests with one write, so a
// pipelining load costs the generator little. Every reply must echo an outstanding id, carry no
// error and the -expect result. It prints calls/s counted inside the measured window, latency
// percentiles, and a last line of JSON. -connect-only opens -c idle connections instead, probes
// each with one call, holds them for -hold and reports how many answered.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net"
	"os"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

var (
	addr        = flag.String("addr", "127.0.0.1:8096", "server address")
	conns       = flag.Int("c", 1, "connections")
	depth       = flag.Int("d", 1, "requests outstanding per connection")
	duration    = flag.Duration("duration", 10*time.Second, "measured time")
	warmup      = flag.Duration("warmup", 2*time.Second, "unmeasured time before it")
	method      = flag.String("method", "Arith.Multiply", "method to call")
	arg         = flag.String("arg", `{"A":9,"B":2}`, "the call's argument (JSON)")
	expect      = flag.String("expect", `{"Pro":18}`, "the result every reply must carry (JSON)")
	connectOnly = flag.Bool("connect-only", false, "open idle connections instead of loading")
	hold        = flag.Duration("hold", 10*time.Second, "connect-only: how long to hold them")
	readyFile   = flag.String("ready-file", "", "connect-only: touched once all are open and probed")
	dialPar     = flag.Int("dial-par", 64, "connections dialed at once")
)

// histogram: log-linear buckets of microseconds, 64 per power of two (error < 1.6 %).
type histogram struct {
	counts [64 * 40]uint64
	total  uint64
}

func bucketOf(us float64) int {
	if us < 1 {
		return 0
	}
	exp := math.Floor(math.Log2(us))
	frac := us/math.Exp2(exp) - 1
	b := int(exp)*64 + int(frac*64)
	if b >= len(histogram{}.counts) {
		b = len(histogram{}.counts) - 1
	}
	return b
}

func valueOf(b int) float64 {
	return math.Exp2(float64(b/64)) * (1 + (float64(b%64)+0.5)/64)
}

func (h *histogram) add(us float64) { h.counts[bucketOf(us)]++; h.total++ }

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
}

func (h *histogram) quantile(q float64) float64 {
	if h.total == 0 {
		return 0
	}
	want := uint64(math.Ceil(q * float64(h.total)))
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= want {
			return valueOf(i)
		}
	}
	return 0
}

type counters struct {
	calls, rpcErrors, protocolErrors, mismatches, connErrors uint64
	sample                                                   atomic.Value
}

func (c *counters) fail(kind *uint64, format string, args ...interface{}) {
	atomic.AddUint64(kind, 1)
	c.sample.Store(fmt.Sprintf(format, args...))
}

// checker verifies replies: a byte comparison for the compact form servers normally send,
// and a semantic comparison otherwise.
type checker struct {
	expect      []byte
	expectValue interface{}
}

func newChecker(expect string) *checker {
	var compacted bytes.Buffer
	if err := json.Compact(&compacted, []byte(expect)); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen: -expect is not JSON:", err)
		os.Exit(2)
	}
	var value interface{}
	json.Unmarshal(compacted.Bytes(), &value)
	return &checker{expect: compacted.Bytes(), expectValue: value}
}

var fastPrefix = []byte(`{"id":`)
var fastResult = []byte(`,"result":`)
var fastSuffix = []byte(`,"error":null}`)

// parse returns the reply's id and whether it is a success carrying the expected result.
func (k *checker) parse(line []byte) (id uint64, ok bool, problem string) {
	line = bytes.TrimRight(line, "\r\n")
	if bytes.HasPrefix(line, fastPrefix) && bytes.HasSuffix(line, fastSuffix) {
		rest := line[len(fastPrefix):]
		comma := bytes.IndexByte(rest, ',')
		if comma > 0 && bytes.HasPrefix(rest[comma:], fastResult) {
			if n, err := strconv.ParseUint(string(rest[:comma]), 10, 64); err == nil {
				result := rest[comma+len(fastResult) : len(rest)-len(fastSuffix)]
				if bytes.Equal(result, k.expect) {
					return n, true, ""
				}
			}
		}
	}
	var reply struct {
		ID     *uint64         `json:"id"`
		Result json.RawMessage `json:"result"`
		Error  interface{}     `json:"error"`
	}
	if err := json.Unmarshal(line, &reply); err != nil || reply.ID == nil {
		return 0, false, fmt.Sprintf("bad reply %q", line)
	}
	if reply.Error != nil {
		return *reply.ID, false, fmt.Sprintf("rpc error %v", reply.Error)
	}
	var got interface{}
	json.Unmarshal(reply.Result, &got)
	if !reflect.DeepEqual(got, k.expectValue) {
		return *reply.ID, false, fmt.Sprintf("result %s, want %s", reply.Result, k.expect)
	}
	return *reply.ID, true, ""
}

func request(buf []byte, id uint64) []byte {
	buf = append(buf, `{"method":`...)
	buf = strconv.AppendQuote(buf, *method)
	buf = append(buf, `,"params":[`...)
	buf = append(buf, *arg...)
	buf = append(buf, `],"id":`...)
	buf = strconv.AppendUint(buf, id, 10)
	return append(buf, "}\n"...)
}

func dial() (net.Conn, error) {
	conn, err := net.DialTimeout("tcp", *addr, 5*time.Second)
	if err == nil {
		conn.(*net.TCPConn).SetNoDelay(true)
	}
	return conn, err
}

// load runs one connection until end; calls completing in [start, end) are counted.
func load(k *checker, c *counters, h *histogram, start, end time.Time, wg *sync.WaitGroup) {
	defer wg.Done()
	conn, err := dial()
	if err != nil {
		c.fail(&c.connErrors, "dial: %v", err)
		return
	}
	defer conn.Close()
	conn.SetDeadline(end.Add(5 * time.Second))
	reader := bufio.NewReaderSize(conn, 65536)
	sent := make(map[uint64]time.Time, *depth)
	var next uint64
	out := make([]byte, 0, 128**depth)
	for time.Now().Before(end) {
		out = out[:0]
		now := time.Now()
		for len(sent) < *depth {
			out = request(out, next)
			sent[next] = now
			next++
		}
		if len(out) > 0 {
			if _, err := conn.Write(out); err != nil {
				c.fail(&c.connErrors, "write: %v", err)
				return
			}
		}
		for { // every complete reply already buffered, then back to writing
			line, err := reader.ReadSlice('\n')
			if err != nil {
				c.fail(&c.connErrors, "read: %v", err)
				return
			}
			done := time.Now()
			id, ok, problem := k.parse(line)
			began, known := sent[id]
			switch {
			case !known:
				c.fail(&c.protocolErrors, "reply for unknown id %d: %q", id, line)
				return
			case !ok:
				c.fail(&c.mismatches, "%s", problem)
			}
			delete(sent, id)
			if ok && !done.Before(start) && done.Before(end) {
				atomic.AddUint64(&c.calls, 1)
				h.add(float64(done.Sub(began).Nanoseconds()) / 1000)
			}
			if reader.Buffered() == 0 || bytes.IndexByte(peekAll(reader), '\n') < 0 {
				break
			}
		}
	}
}

func peekAll(r *bufio.Reader) []byte {
	b, _ := r.Peek(r.Buffered())
	return b
}

func probe(conn net.Conn, reader *bufio.Reader, k *checker, id uint64) bool {
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write(request(nil, id)); err != nil {
		return false
	}
	line, err := reader.ReadSlice('\n')
	if err != nil {
		return false
	}
	got, ok, _ := k.parse(line)
	return ok && got == id
}

func connectOnlyMode(k *checker) map[string]interface{} {
	type link struct {
		conn   net.Conn
		reader *bufio.Reader
	}
	links := make([]*link, *conns)
	var wg sync.WaitGroup
	var opened, probed uint64
	slots := make(chan struct{}, *dialPar)
	for i := range links {
		wg.Add(1)
		slots <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-slots }()
			conn, err := dial()
			if err != nil {
				return
			}
			atomic.AddUint64(&opened, 1)
			l := &link{conn, bufio.NewReaderSize(conn, 512)}
			links[i] = l
			if probe(l.conn, l.reader, k, 0) {
				atomic.AddUint64(&probed, 1)
			}
		}(i)
	}
	wg.Wait()
	if *readyFile != "" {
		os.WriteFile(*readyFile, []byte("ready\n"), 0o644)
	}
	time.Sleep(*hold)
	var probedEnd uint64
	for _, l := range links {
		if l == nil {
			continue
		}
		wg.Add(1)
		slots <- struct{}{}
		go func(l *link) {
			defer wg.Done()
			defer func() { <-slots }()
			if probe(l.conn, l.reader, k, 1) {
				atomic.AddUint64(&probedEnd, 1)
			}
			l.conn.Close()
		}(l)
	}
	wg.Wait()
	return map[string]interface{}{"mode": "connect-only", "conns": *conns, "connected": opened,
		"probe_ok": probed, "probe_end_ok": probedEnd}
}

func main() {
	flag.Parse()
	k := newChecker(*expect)
	if *connectOnly {
		summary := connectOnlyMode(k)
		fmt.Printf("connected %v of %d, answered %v, still answering after %s: %v\n",
			summary["connected"], *conns, summary["probe_ok"], *hold, summary["probe_end_ok"])
		line, _ := json.Marshal(summary)
		fmt.Println(string(line))
		return
	}
	var c counters
	start := time.Now().Add(*warmup)
	end := start.Add(*duration)
	histograms := make([]histogram, *conns)
	var wg sync.WaitGroup
	slots := make(chan struct{}, *dialPar)
	for i := 0; i < *conns; i++ {
		wg.Add(1)
		slots <- struct{}{}
		go func(i int) {
			<-slots
			load(k, &c, &histograms[i], start, end, &wg)
		}(i)
	}
	wg.Wait()
	var all histogram
	for i := range histograms {
		all.merge(&histograms[i])
	}
	rate := float64(c.calls) / duration.Seconds()
	summary := map[string]interface{}{
		"addr": *addr, "conns": *conns, "depth": *depth, "seconds": duration.Seconds(),
		"calls": c.calls, "calls_per_s": math.Round(rate),
		"p50_us": all.quantile(0.50), "p90_us": all.quantile(0.90), "p99_us": all.quantile(0.99),
		"p999_us": all.quantile(0.999),
		"errors": map[string]uint64{"conn": c.connErrors, "protocol": c.protocolErrors,
			"rpc_or_mismatch": c.mismatches},
	}
	if sample, ok := c.sample.Load().(string); ok {
		summary["error_sample"] = sample
	}
	fmt.Printf("%d conns x %d deep: %.0f calls/s, p50 %.0f us, p99 %.0f us, errors %v\n",
		*conns, *depth, rate, all.quantile(0.5), all.quantile(0.99), summary["errors"])
	line, _ := json.Marshal(summary)
	fmt.Println(string(line))
}
