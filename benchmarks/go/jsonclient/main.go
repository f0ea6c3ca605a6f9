// Go's own net/rpc/jsonrpc client, the reference for greenrpc's clients: one jsonrpc.Dial
// connection shared by -c goroutines, each calling Arith.Multiply({9, 2}) in a loop and
// checking the product. Calls finished during -duration (after -warmup) are counted; prints
// one line of JSON: {"calls_per_s": ..., "cpu_us_per_call": ...} (the process's CPU time per
// call made, warmup included).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/rpc/jsonrpc"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type Args struct{ A, B int }

type Product struct{ Pro int }

func main() {
	addr := flag.String("addr", "127.0.0.1:8096", "server address")
	callers := flag.Int("c", 1, "goroutines calling at once on the one connection")
	duration := flag.Duration("duration", 5*time.Second, "measured time")
	warmup := flag.Duration("warmup", time.Second, "unmeasured time before it")
	flag.Parse()
	client, err := jsonrpc.Dial("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	var measuring, stopped atomic.Bool
	var calls, total atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < *callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stopped.Load() {
				var reply Product
				if err := client.Call("Arith.Multiply", Args{9, 2}, &reply); err != nil || reply.Pro != 18 {
					log.Fatalf("bad reply %v: %v", reply, err)
				}
				total.Add(1)
				if measuring.Load() {
					calls.Add(1)
				}
			}
		}()
	}
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	time.Sleep(*warmup)
	measuring.Store(true)
	start := time.Now()
	time.Sleep(*duration)
	counted := calls.Load()
	elapsed := time.Since(start).Seconds()
	stopped.Store(true)
	wg.Wait()
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	out, _ := json.Marshal(map[string]float64{"calls_per_s": float64(counted) / elapsed,
		"cpu_us_per_call": float64(cpu.Microseconds()) / float64(total.Load())})
	fmt.Fprintln(os.Stdout, string(out))
}
