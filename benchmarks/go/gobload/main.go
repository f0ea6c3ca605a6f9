// A load generator for Go's net/rpc gob protocol, using Go's own client (standard library
// only): -c connections, each shared by -g goroutines calling Arith.Multiply back to back
// (so up to -g calls are in flight per connection). Every reply is checked. Runs -warmup,
// then counts calls for -duration; a watchdog ends the process if the server stalls.
// Prints one line of JSON.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/rpc"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

type ArithRequest struct{ A, B int }

type ArithResponse struct{ Pro, Quo, Rem int }

func main() {
	addr := flag.String("addr", "127.0.0.1:8097", "server address")
	conns := flag.Int("c", 1, "connections")
	goroutines := flag.Int("g", 1, "goroutines per connection")
	duration := flag.Duration("duration", 5*time.Second, "measured time")
	warmup := flag.Duration("warmup", time.Second, "time before measuring")
	flag.Parse()

	deadline := *warmup + *duration + 15*time.Second
	time.AfterFunc(deadline, func() {
		fmt.Fprintln(os.Stderr, "gobload: server stalled; giving up after", deadline)
		os.Exit(3)
	})
	clients := make([]*rpc.Client, *conns)
	for i := range clients {
		client, err := rpc.Dial("tcp", *addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "dial:", err)
			os.Exit(2)
		}
		clients[i] = client
	}

	var measuring, stop int32
	var calls, errorsSeen int64
	latencies := make([][]time.Duration, *conns**goroutines)
	var wg sync.WaitGroup
	for c, client := range clients {
		for g := 0; g < *goroutines; g++ {
			wg.Add(1)
			slot := c**goroutines + g
			go func(client *rpc.Client, slot int) {
				defer wg.Done()
				var reply ArithResponse
				for i := 0; atomic.LoadInt32(&stop) == 0; i++ {
					start := time.Now()
					err := client.Call("Arith.Multiply", ArithRequest{slot, i}, &reply)
					if err != nil || reply.Pro != slot*i {
						atomic.AddInt64(&errorsSeen, 1)
						if err != nil {
							return
						}
					}
					if atomic.LoadInt32(&measuring) == 1 {
						atomic.AddInt64(&calls, 1)
						if i%16 == 0 {
							latencies[slot] = append(latencies[slot], time.Since(start))
						}
					}
				}
			}(client, slot)
		}
	}
	time.Sleep(*warmup)
	atomic.StoreInt32(&measuring, 1)
	began := time.Now()
	time.Sleep(*duration)
	atomic.StoreInt32(&measuring, 0)
	elapsed := time.Since(began)
	counted := atomic.LoadInt64(&calls)
	atomic.StoreInt32(&stop, 1)
	wg.Wait()

	var all []time.Duration
	for _, l := range latencies {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[int(p*float64(len(all)-1))].Microseconds())
	}
	json.NewEncoder(os.Stdout).Encode(map[string]interface{}{
		"calls_per_sec": float64(counted) / elapsed.Seconds(),
		"calls":         counted,
		"errors":        atomic.LoadInt64(&errorsSeen),
		"p50_us":        pct(0.50),
		"p99_us":        pct(0.99),
	})
}
