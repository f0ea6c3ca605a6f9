// connload measures the PHP-FPM pattern: every request of a PHP page connects, makes one call
// and closes. Each of -c workers repeats: dial, write one Go-dialect request line, read one
// reply line and check it, close. It prints calls per second (one connection each) and the
// latency of the whole exchange from dial to reply, then a last line of JSON, with the same
// keys as loadgen where they mean the same.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

var (
	addr     = flag.String("addr", "127.0.0.1:8096", "server address")
	workers  = flag.Int("c", 50, "workers, each with one connection at a time")
	duration = flag.Duration("duration", 5*time.Second, "measured time")
	warmup   = flag.Duration("warmup", time.Second, "unmeasured time before it (calls still checked)")
	method   = flag.String("method", "Arith.Multiply", "method to call")
	arg      = flag.String("arg", `{"A":9,"B":2}`, "the call's argument, sent as params:[ARG]")
	expect   = flag.String("expect", `"Pro":18`, "text every reply's result must contain")
	timeout  = flag.Duration("timeout", 5*time.Second, "deadline of one exchange")
)

func main() {
	flag.Parse()
	request := []byte(fmt.Sprintf(`{"method":%q,"params":[%s],"id":0}`+"\n", *method, *arg))
	want := []byte(*expect)
	var measuring, stop atomic.Bool
	var failures atomic.Int64
	var firstError atomic.Value
	latencies := make([][]int64, *workers)
	fail := func(err error) {
		failures.Add(1)
		firstError.CompareAndSwap(nil, err.Error())
	}
	var wg sync.WaitGroup
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for !stop.Load() {
				began := time.Now()
				conn, err := net.DialTimeout("tcp", *addr, *timeout)
				if err != nil {
					fail(err)
					time.Sleep(10 * time.Millisecond)
					continue
				}
				conn.SetDeadline(began.Add(*timeout))
				_, err = conn.Write(request)
				var line []byte
				if err == nil {
					line, err = bufio.NewReaderSize(conn, 512).ReadSlice('\n')
				}
				if err == nil && (!bytes.Contains(line, want) || !bytes.Contains(line, []byte(`"error":null`))) {
					err = fmt.Errorf("unexpected reply: %.200s", line)
				}
				took := time.Since(began)
				conn.Close()
				if err != nil {
					fail(err)
				} else if measuring.Load() {
					latencies[w] = append(latencies[w], took.Microseconds())
				}
			}
		}(w)
	}
	time.Sleep(*warmup)
	failures.Store(0)
	measuring.Store(true)
	began := time.Now()
	time.Sleep(*duration)
	measuring.Store(false)
	elapsed := time.Since(began)
	stop.Store(true)
	wg.Wait()
	var all []int64
	for _, l := range latencies {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	quantile := func(q float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[int(q*float64(len(all)-1))])
	}
	summary := map[string]any{
		"addr": *addr, "conns": *workers, "calls": len(all),
		"calls_per_s": float64(len(all)) / elapsed.Seconds(),
		"p50_us": quantile(0.5), "p99_us": quantile(0.99), "p999_us": quantile(0.999),
		"max_us": quantile(1), "errors": map[string]int64{"exchange": failures.Load()},
	}
	if first, ok := firstError.Load().(string); ok {
		summary["error_sample"] = first
	}
	fmt.Printf("%d calls, %.0f connections/s, first call p50 %.0f us p99 %.0f us\n",
		len(all), summary["calls_per_s"], quantile(0.5), quantile(0.99))
	out, _ := json.Marshal(summary)
	fmt.Println(string(out))
	if failures.Load() > 0 || len(all) == 0 {
		os.Exit(3)
	}
}
