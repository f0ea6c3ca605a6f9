// drainload keeps Go's stdlib jsonrpc clients busy against a server until their connections
// end, and reports every call's outcome: ok (the right reply arrived), or failed with its error
// text. Each goroutine stops at its first error, since its connection is gone by then.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/rpc"
	"net/rpc/jsonrpc"
	"sync"
	"time"
)

type Args struct{ A, B int }
type Reply struct{ Pro, Quo, Rem int }
type SleepArgs struct {
	Ms  int
	Tag string
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8096", "server address")
	conns := flag.Int("conns", 8, "connections")
	perConn := flag.Int("per-conn", 16, "goroutines calling on each connection")
	duration := flag.Duration("duration", 10*time.Second, "stop calling after this long")
	slowEvery := flag.Int("slow-every", 10, "every Nth call is Slow.Sleep, to keep calls in flight")
	slowMs := flag.Int("slow-ms", 30, "how long Slow.Sleep sleeps")
	flag.Parse()

	var mu sync.Mutex
	ok, wrong := 0, 0
	failed := map[string]int{}
	record := func(err error, right bool) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err != nil:
			failed[err.Error()]++
		case right:
			ok++
		default:
			wrong++
		}
	}
	deadline := time.Now().Add(*duration)
	var wg sync.WaitGroup
	for c := 0; c < *conns; c++ {
		client, err := jsonrpc.Dial("tcp", *addr)
		if err != nil {
			record(err, false)
			continue
		}
		for g := 0; g < *perConn; g++ {
			wg.Add(1)
			go func(client *rpc.Client, g int) {
				defer wg.Done()
				for i := 1; time.Now().Before(deadline); i++ {
					if i%*slowEvery == 0 {
						tag := fmt.Sprintf("%d-%d", g, i)
						var got string
						err := client.Call("Slow.Sleep", SleepArgs{*slowMs, tag}, &got)
						record(err, got == tag)
						if err != nil {
							return
						}
						continue
					}
					var reply Reply
					err := client.Call("Arith.Multiply", Args{i, g}, &reply)
					record(err, reply.Pro == i*g)
					if err != nil {
						return
					}
				}
			}(client, g)
		}
	}
	wg.Wait()
	out, _ := json.Marshal(map[string]interface{}{"ok": ok, "wrong": wrong, "failed": failed})
	fmt.Println(string(out))
}
